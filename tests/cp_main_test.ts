/**
 * `deno task cp` as a real process tree: the engine and the monitor start as two children from
 * one set of flags, register the CP at a real Registry, find each other on the engine port, and
 * fail independently. Central is absent: the monitor just keeps retrying it.
 * Run with `deno task test tests/cp_main_test.ts` (it starts Kafka).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startTestRegistry, type TestRegistry, waitFor } from "../cp/test_support.ts";
import { createRegistryClient } from "../registry/client.ts";
import { freePort } from "../shared/ports.ts";
import { testBrokers } from "./kafka_env.ts";
import { integrationTest, readChildLines } from "./network_test_support.ts";

/** Whether a process with this pid exists. */
function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT"); // harmless to a running process; throws if there is none
    return true;
  } catch {
    return false;
  }
}

/** The ports its engines said they listen on for the monitor, in order. */
function listeningPorts(lines: readonly string[]): number[] {
  return lines.filter((l) => l.includes("engine listening for its monitor")).map((l) =>
    JSON.parse(l.slice("[engine] ".length)).properties.port as number
  );
}

/** `cp/main.ts` as a headless child against `registry`, with its output gathered by line. */
function spawnCp(
  registry: Awaited<ReturnType<typeof startTestRegistry>>,
  cpId: string,
  keys = false,
) {
  const lines: string[] = [];
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      join(import.meta.dirname!, "..", "cp", "main.ts"),
      "--cp-id",
      cpId,
      "--headless",
      "--broker",
      testBrokers().join(","),
      "--central",
      `127.0.0.1:${freePort()}`,
      "--registry-url",
      registry.url,
      "--ca",
      registry.caFile,
      "--location",
      "Main street 1",
      "--price",
      "0.42",
      "--power",
      "7.4",
      "--credentials-dir",
      join(registry.dir, "data", "cp"),
    ],
    env: { REGISTRY_ADMIN_KEY: registry.registry.adminKey.key },
    stdin: keys ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = readChildLines(child, (line) => lines.push(line));
  const pidOf = (name: string) => {
    const line = lines.find((l) => l.startsWith(`[cp] ${name} started (pid `));
    return line === undefined ? undefined : Number(line.match(/pid (\d+)/)![1]);
  };
  /** The `message` of each JSON log line of one child. */
  const messages = (name: string) =>
    lines.filter((l) => l.startsWith(`[${name}] {`)).map((l) =>
      JSON.parse(l.slice(name.length + 3)).message as string
    );
  const input = keys ? child.stdin.getWriter() : undefined;
  /** Types `key` into its input, as the keyboard or the local supervisor would. */
  const type = (key: string) => input!.write(new TextEncoder().encode(key));
  /**
   * Waits for it to end by itself, and then for the last of its output: its exit is often seen
   * before its last lines ("[cp] engine exited") are read.
   */
  const exited = async () => {
    const status = await child.status;
    await output;
    return status;
  };
  /** Kills it if it still runs, then waits for its output to end. */
  const end = async () => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    await output;
  };
  return { child, lines, pidOf, messages, type, exited, end };
}

/** A test (sanitizers off: children and sockets) with a Registry of its own, closed at its end. */
function cpMainTest(name: string, fn: (registry: TestRegistry) => Promise<void>): void {
  integrationTest(name, async () => {
    const registry = await startTestRegistry();
    try {
      await fn(registry);
    } finally {
      await registry.close();
    }
  });
}

cpMainTest(
  "deno task cp: two children from one set of flags, failing independently, stopped together",
  async (registry) => {
    const { child, lines, pidOf, messages, exited, end } = spawnCp(registry, "CP-MAIN-1");
    try {
      await waitFor(() => pidOf("engine") !== undefined && pidOf("monitor") !== undefined, "pids");
      const [enginePid, monitorPid] = [pidOf("engine")!, pidOf("monitor")!];

      await waitFor(
        () => messages("monitor").includes("engine OK"),
        "the monitor to see its engine",
      );
      await waitFor(
        () => messages("engine").includes("connected to Kafka"),
        "the engine on Kafka (with only the permissions cp/main.ts gives it)",
      );
      await waitFor(
        () => messages("monitor").some((m) => m.startsWith("registered at the Registry")),
        "registration",
      );
      const client = await createRegistryClient({ url: registry.url, caFile: registry.caFile });
      try {
        const cp = await client.getCp("CP-MAIN-1");
        assert.deepEqual([cp.location, cp.price_eur_kwh, cp.power_kw], [
          "Main street 1",
          0.42,
          7.4,
        ]);
      } finally {
        client.close();
      }
      await waitFor(
        () => messages("monitor").some((m) => /Central unreachable/.test(m)),
        "the monitor retrying Central",
      );

      // A failure test kills the engine: the monitor reports KO and lives on.
      Deno.kill(enginePid, "SIGKILL");
      await waitFor(() => messages("monitor").includes("engine KO"), "KO");
      await waitFor(() => lines.some((l) => l.startsWith("[cp] engine exited")), "exit report");
      assert.ok(alive(monitorPid), "the monitor keeps running");
      const retries = messages("monitor").length;
      await waitFor(() => messages("monitor").length > retries, "the monitor still working");

      child.kill("SIGTERM");
      assert.equal((await exited()).code, 0);
      assert.ok(!alive(monitorPid), "the monitor stopped with it");
      assert.ok(lines.some((l) => l.startsWith("[cp] monitor exited")));
    } finally {
      await end();
    }
    // Never a secret in the output: not the admin key, not the credentials.
    const text = lines.join("\n");
    assert.ok(!text.includes(registry.registry.adminKey.key), "admin key leaked");
  },
);

cpMainTest(
  "deno task cp: a stop ends the monitor before the engine, so it reports no engine KO",
  async (registry) => {
    const { child, lines, messages, exited, end } = spawnCp(registry, "CP-MAIN-2");
    try {
      await waitFor(
        () => messages("monitor").includes("engine OK"),
        "the monitor to see its engine",
      );
      child.kill("SIGTERM");
      assert.equal((await exited()).code, 0);
      const exit = (name: string) => lines.findIndex((l) => l.startsWith(`[cp] ${name} exited`));
      assert.ok(exit("monitor") >= 0 && exit("engine") > exit("monitor"), "monitor first");
      assert.ok(!messages("monitor").includes("engine KO"), "no engine KO at the stop");
    } finally {
      await end();
    }
  },
);

cpMainTest(
  "deno task cp: two CPs started at once each get an engine port of their own from its engine",
  async (registry) => {
    const cps = [spawnCp(registry, "CP-MAIN-3"), spawnCp(registry, "CP-MAIN-4")];
    try {
      for (const cp of cps) {
        await waitFor(() => cp.messages("monitor").includes("engine OK"), "each monitor's engine");
        // The engine's line comes through another pipe than its monitor's: it may come later.
        await waitFor(() => listeningPorts(cp.lines).length > 0, "each engine's port");
      }
      const ports = cps.map((cp) => listeningPorts(cp.lines)[0]);
      assert.notEqual(ports[0], ports[1]);
      for (const cp of cps) {
        assert.ok(!cp.lines.some((l) => l.startsWith("[cp] engine exited")), "both engines run");
        cp.child.kill("SIGTERM");
        assert.equal((await cp.exited()).code, 0);
      }
    } finally {
      for (const cp of cps) await cp.end();
    }
  },
);

cpMainTest(
  "deno task cp: k kills the engine, the monitor lives on, and e brings it back on its port",
  async (registry) => {
    const { lines, pidOf, messages, type, exited, end } = spawnCp(registry, "CP-MAIN-5", true);
    try {
      await waitFor(() => messages("monitor").includes("engine OK"), "the monitor's engine");
      const [enginePid, monitorPid] = [pidOf("engine")!, pidOf("monitor")!];

      await type("k");
      await waitFor(() => lines.some((l) => l.startsWith("[cp] engine exited")), "the kill");
      await waitFor(() => messages("monitor").includes("engine KO"), "KO");
      assert.ok(alive(monitorPid) && !alive(enginePid), "only the engine died");

      const oks = messages("monitor").filter((m) => m === "engine OK").length;
      await type("e");
      await waitFor(
        () => messages("monitor").filter((m) => m === "engine OK").length > oks,
        "the monitor to see the restarted engine",
      );
      const starts = lines.filter((l) => l.startsWith("[cp] engine started (pid "));
      assert.equal(starts.length, 2);
      assert.notEqual(Number(starts[1].match(/pid (\d+)/)![1]), enginePid);
      // The engine's line comes through another pipe than its monitor's: it may come later.
      await waitFor(() => listeningPorts(lines).length === 2, "the restarted engine's port");
      const ports = listeningPorts(lines);
      assert.equal(ports[1], ports[0], "the same port, so the monitor finds it");
      assert.ok(alive(monitorPid), "the same monitor");

      await type("K");
      await waitFor(() => lines.some((l) => l.startsWith("[cp] monitor exited")), "monitor kill");
      await type("m");
      await waitFor(
        () => lines.filter((l) => l.startsWith("[cp] monitor started (pid ")).length === 2,
        "a new monitor",
      );
      await type("q");
      assert.equal((await exited()).code, 0);
    } finally {
      await end();
    }
  },
);
