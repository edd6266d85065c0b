/**
 * The monitor's engine link against the engine's real monitor port, joined in memory as the
 * fleet joins them (`--engine-links memory`): the same opening, link proof and frames as over
 * the loopback socket, without one.
 */
import assert from "node:assert/strict";
import { MemoryListener } from "../shared/memory_conn.ts";
import {
  build,
  type EngineHealth,
  engineToMonitorSchema,
  type MonitorToEngine,
  monitorToEngineSchema,
} from "../shared/messages.ts";
import { newLinkSecret } from "./engine_link.ts";
import { MonitorPort } from "./engine_monitor_port.ts";
import { INITIAL_MODEL, REVOKED_WAIT_MS, step } from "./monitor_core.ts";
import { engineAddress, EngineLink, type EngineLinkInput } from "./monitor_engine.ts";

/** An engine's monitor port in memory that answers health checks and records the rest. */
async function openPort(listener: MemoryListener, secret: Uint8Array) {
  const frames: MonitorToEngine[] = [];
  const port = await MonitorPort.open({
    port: 0,
    memory: listener,
    secret,
    onFrame: (frame) => {
      frames.push(frame);
      return Promise.resolve(
        frame.type === "HEALTH_CHECK"
          ? build(engineToMonitorSchema, "HEALTH", { engine: "OK" })
          : undefined,
      );
    },
    onChange: () => {},
    cpId: () => "CP-MEM-1",
  });
  return { port, frames };
}

/**
 * The monitor's core fed what the link reports, as the monitor feeds it: each health it judges in
 * `seen`, and a wait until `until` holds after one of them.
 */
function healthWatch() {
  let model = INITIAL_MODEL;
  const settings = { revokedWaitMs: REVOKED_WAIT_MS, interactive: false };
  const seen: EngineHealth[] = [];
  const waiters: { test: () => boolean; resolve: () => void }[] = [];
  return {
    seen,
    health: () => model.health,
    report: (input: EngineLinkInput) => {
      const next = step(model, input, { settings, now: Date.now(), random: 0 });
      model = next.model;
      for (const effect of next.effects) {
        if (effect.type === "health_changed") seen.push(effect.health);
      }
      for (const w of waiters.filter((w) => w.test())) w.resolve();
    },
    until: (test: () => boolean) =>
      test() ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ test, resolve })),
  };
}

Deno.test("engine link in memory: proves the secret, gets OK, and hands over the key", async () => {
  const listener = new MemoryListener("CP-MEM-1 engine (in process)");
  const secret = newLinkSecret();
  const { port, frames } = await openPort(listener, secret);
  const stop = new AbortController();
  const watch = healthWatch();
  const link = new EngineLink(listener, secret, stop.signal, watch.report);
  const running = link.run();
  try {
    await watch.until(() => watch.seen.includes("OK"));
    assert.ok(port.connected && link.connected);
    await link.setKey(build(monitorToEngineSchema, "KEY", {
      cpId: "CP-MEM-1",
      keyVersion: 1,
      key: "A".repeat(43) + "=",
    }));
    assert.ok(frames.some((f) => f.type === "KEY" && f.keyVersion === 1));
    assert.equal(port.port, 0, "no socket was opened");
    assert.equal(engineAddress(listener), "CP-MEM-1 engine (in process)");
  } finally {
    stop.abort();
    await port.close();
    await running;
  }
});

Deno.test("engine link in memory: a monitor without the engine start's secret is refused", async () => {
  const listener = new MemoryListener("CP-MEM-2 engine (in process)");
  const { port, frames } = await openPort(listener, newLinkSecret());
  const stop = new AbortController();
  let attempts = 0;
  const retried = Promise.withResolvers<void>();
  const counting = {
    name: listener.name,
    connect: () => {
      if (++attempts === 2) retried.resolve();
      return listener.connect();
    },
  };
  const watch = healthWatch();
  const link = new EngineLink(counting, newLinkSecret(), stop.signal, watch.report);
  const running = link.run();
  try {
    await retried.promise; // the first opening has ended: the link tries again
    assert.equal(watch.health(), "KO");
    assert.equal(port.connected, false, "the engine never took this monitor");
    assert.deepEqual(frames, [], "no frame reached the engine");
  } finally {
    stop.abort();
    await port.close();
    await running;
  }
});

Deno.test("engine link in memory: a closed engine is KO, and its listener refuses new openings", async () => {
  const listener = new MemoryListener("CP-MEM-3 engine (in process)");
  const secret = newLinkSecret();
  const { port } = await openPort(listener, secret);
  const stop = new AbortController();
  const watch = healthWatch();
  const link = new EngineLink(listener, secret, stop.signal, watch.report);
  const running = link.run();
  try {
    await watch.until(() => watch.seen.includes("OK"));
    await port.close();
    await watch.until(() => watch.seen.at(-1) === "KO");
    assert.equal(link.connected, false);
    assert.throws(() => listener.connect(), /is closed/);
  } finally {
    stop.abort();
    await running;
  }
});
