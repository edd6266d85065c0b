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
import {
  engineAddress,
  type EngineDialer,
  EngineLink,
  type EngineLinkInput,
} from "./monitor_engine.ts";

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
      const next = step(model, input, { settings, now: Date.now(), lagMs: 0, random: 0 });
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

/** What {@link withLink} hands its test. */
interface LinkSetup {
  readonly listener: MemoryListener;
  readonly port: MonitorPort;
  readonly frames: MonitorToEngine[];
  readonly link: EngineLink;
  readonly watch: ReturnType<typeof healthWatch>;
}

/**
 * An engine's port and a monitor's link joined in memory, run for `test`, then both stopped. The
 * monitor proves `monitorSecret` (default: the engine start's own) and dials through `dial`
 * (default: the listener itself).
 */
async function withLink(
  name: string,
  options: { monitorSecret?: Uint8Array; dial?: (l: MemoryListener) => EngineDialer },
  test: (setup: LinkSetup) => Promise<void>,
): Promise<void> {
  const listener = new MemoryListener(name);
  const secret = newLinkSecret();
  const { port, frames } = await openPort(listener, secret);
  const stop = new AbortController();
  const watch = healthWatch();
  const dialer = options.dial?.(listener) ?? listener;
  const link = new EngineLink(dialer, options.monitorSecret ?? secret, stop.signal, watch.report);
  const running = link.run();
  try {
    await test({ listener, port, frames, link, watch });
  } finally {
    stop.abort();
    await port.close();
    await running;
  }
}

Deno.test("engine link in memory: proves the secret, gets OK, and hands over the key", async () => {
  await withLink(
    "CP-MEM-1 engine (in process)",
    {},
    async ({ listener, port, frames, link, watch }) => {
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
    },
  );
});

Deno.test("engine link in memory: a monitor without the engine start's secret is refused", async () => {
  let attempts = 0;
  const retried = Promise.withResolvers<void>();
  const counting = (listener: MemoryListener) => ({
    name: listener.name,
    connect: () => {
      if (++attempts === 2) retried.resolve();
      return listener.connect();
    },
  });
  const options = { monitorSecret: newLinkSecret(), dial: counting };
  await withLink("CP-MEM-2 engine (in process)", options, async ({ port, frames, watch }) => {
    await retried.promise; // the first opening has ended: the link tries again
    assert.equal(watch.health(), "KO");
    assert.equal(port.connected, false, "the engine never took this monitor");
    assert.deepEqual(frames, [], "no frame reached the engine");
  });
});

Deno.test("engine link in memory: a closed engine is KO, and its listener refuses new openings", async () => {
  await withLink("CP-MEM-3 engine (in process)", {}, async ({ listener, port, link, watch }) => {
    await watch.until(() => watch.seen.includes("OK"));
    await port.close();
    await watch.until(() => watch.seen.at(-1) === "KO");
    assert.equal(link.connected, false);
    assert.throws(() => listener.connect(), /is closed/);
  });
});
