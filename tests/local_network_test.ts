/**
 * How `deno task start` runs its processes (infra/network.ts, infra/local_kafka.ts), with a real
 * broker, Registry, Central and CP: detached, each in a session of its own, so a Ctrl-C at the
 * terminal reaches only the starter, which stops them in order; and an abort during the start
 * stops what had started.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startLocalKafka } from "../infra/local_kafka.ts";
import { uniqueName } from "./kafka_env.ts";
import { integrationTest, inTempDir, startTestNetwork } from "./network_test_support.ts";

/** The session id of a process, from `/proc/<pid>/stat` (after the command's parentheses). */
async function sessionOf(pid: number | "self"): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  // Fields after ")": state, ppid, pgrp, session, …
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]);
}

/** The pids of running processes whose command line mentions `text`. */
async function processesMentioning(text: string): Promise<number[]> {
  const pids: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    // A process may exit between the listing and the read.
    const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`).catch(() => "");
    if (cmdline.includes(text)) pids.push(Number(entry.name));
  }
  return pids;
}

integrationTest(
  "local network: detached, the Registry, Central and a CP each run in a session of " +
    "their own, and stop with the network",
  async () => {
    await inTempDir("local_network_test_", async (dir) => {
      const net = await startTestNetwork(dir, {
        centralArgs: ["--group", uniqueName("local-network")],
        cps: [{ id: "LN-1", location: "Madrid", priceEurKwh: 0.3, powerKw: 11 }],
        detached: true,
      });
      let pids: number[] = [];
      try {
        pids = [net.registry.pid, net.central.pid, net.cps.get("LN-1")!.pid];
        const mine = await sessionOf("self");
        for (const pid of pids) {
          const session = await sessionOf(pid);
          assert.notEqual(session, mine, `process ${pid} is outside this session`);
          assert.equal(session, pid, `process ${pid} leads its own session`);
        }
      } finally {
        await net.stop();
      }
      for (const pid of pids) {
        await assert.rejects(Deno.stat(`/proc/${pid}`), Deno.errors.NotFound, `${pid} is gone`);
      }
    });
  },
);

integrationTest(
  "local network: an abort while it starts stops what had started and rejects with the " +
    "abort's reason",
  async () => {
    await inTempDir("local_network_test_", async (dir) => {
      const interrupt = new AbortController();
      const reason = new Error("Ctrl-C");
      const steps: string[] = [];
      await assert.rejects(
        startTestNetwork(dir, {
          centralArgs: ["--group", uniqueName("local-network")],
          cps: [{ id: "LN-2", location: "Madrid", priceEurKwh: 0.3, powerKw: 11 }],
          detached: true,
          signal: interrupt.signal,
          progress: (step) => {
            steps.push(step);
            // The Registry answers by now; Central is being started.
            if (step.startsWith("starting Central")) interrupt.abort(reason);
          },
        }),
        (error) => error === reason,
      );
      assert.ok(steps.some((s) => s.startsWith("starting the Registry")), "the Registry started");
      assert.ok(!steps.some((s) => s.startsWith("starting CP")), "no CP was started");
      // Every process it starts names a file in `dir` on its command line.
      assert.deepEqual(await processesMentioning(dir), [], "nothing it started still runs");
    });
  },
);

integrationTest(
  "local Kafka: detached, the broker leads a session of its own; an abort while it " +
    "starts stops it and rejects with the abort's reason",
  async () => {
    await inTempDir("local_network_test_", async (dir) => {
      const quiet = () => {};
      // kafkaBrokers "": a broker of its own, not the suite's KAFKA_BROKERS.
      const kafka = await startLocalKafka({
        port: 0,
        dataDir: join(dir, "kafka"),
        kafkaBrokers: "",
        detached: true,
        log: quiet,
      });
      const pid = kafka.pid!;
      try {
        assert.equal(await sessionOf(pid), pid, "the broker leads its own session");
      } finally {
        await kafka.stop();
      }
      await assert.rejects(Deno.stat(`/proc/${pid}`), Deno.errors.NotFound, "the broker is gone");

      const interrupt = new AbortController();
      const reason = new Error("Ctrl-C");
      await assert.rejects(
        startLocalKafka({
          port: 0,
          dataDir: join(dir, "kafka-2"),
          kafkaBrokers: "",
          detached: true,
          signal: interrupt.signal,
          log: (line) => {
            if (line.startsWith("Starting Kafka")) interrupt.abort(reason);
          },
        }),
        (error) => error === reason,
      );
      assert.deepEqual(await processesMentioning(join(dir, "kafka-2")), [], "the broker is gone");
    });
  },
);
