/**
 * The fleet against a real network: a Registry over TLS and Central as processes
 * (infra/network.ts), Kafka from `deno task test`. 50 CPs and 20 drivers in this process, over two
 * threads as the benchmark runs them (fleet/threads.ts), each CP's monitor joined to its engine in
 * memory (`--engine-links memory`), charge for a minute at high simulated
 * speed; then the drivers stop asking, every open session ends
 * with its ticket (its telemetry reported back from the threads, in order), and the bills are checked three ways: each ticket against its CP's price,
 * Central's stored sessions against the tickets, Central's driver totals against their sums.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { DriverEvent } from "../driver/core.ts";
import { startFleetThreads } from "../fleet/threads.ts";
import { type LogRecord, setupLogging, stopLogging } from "../shared/log.ts";
import { testBrokers } from "./kafka_env.ts";
import { integrationTest, inTempDir, startTestNetwork } from "./network_test_support.ts";

/** How long the fleet charges; `FLEET_TEST_SECONDS` shortens it while developing. */
const RUN_MS = Number(Deno.env.get("FLEET_TEST_SECONDS") ?? 60) * 1000;

interface SessionView {
  readonly id: string;
  readonly cp_id: string;
  readonly driver_id: string;
  readonly kwh: number;
  readonly eur: number;
}

interface DriverView {
  readonly id: string;
  readonly sessions: number;
  readonly kwh: number;
  readonly eur: number;
}

/** Float sums in a different order differ in the last bits; a cent is a billion times more. */
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

integrationTest(
  "fleet: 50 CPs and 20 drivers on two threads charging for a minute get every request answered once " +
    "and every ticket billed at its CP's price, and Central's totals equal the tickets",
  async () => {
    const errors: LogRecord[] = [];
    await setupLogging({
      level: "warning",
      stream: new WritableStream(),
      extraSinks: [(r) => {
        if (r.level === "error" || r.level === "fatal") errors.push(r);
      }],
    });
    await inTempDir("fleet_test_", async (dir) => {
      const net = await startTestNetwork(dir);
      try {
        const [host, port] = net.centralTcp.split(":");
        const events: { driverId: string; event: DriverEvent }[] = [];
        const sent = new Map<string, { type: string; at: number }[]>();
        const fleet = await startFleetThreads({
          threads: 2,
          logToStderr: false, // their errors are counted in counts().errors, checked below
          prefix: `FT${Date.now().toString(36)}`,
          cps: 50,
          drivers: 20,
          brokers: testBrokers(),
          central: { host, port: Number(port) },
          registryUrl: net.registryUrl,
          caFile: net.caFile,
          registryAdminKey: (await Deno.readTextFile(join(dir, "registry_admin.key"))).trim(),
          credentialsDir: join(dir, "fleet_cp"),
          speed: 600, // a simulated minute every 100 ms
          durationMs: 10 * 60_000, // one second of supply per session
          plugDelayMs: 300,
          pauseMs: 500,
          engineLinks: "memory", // loopback sockets are every CP process's; this is the fleet's own
          onDriverEvent: (driverId, event) => events.push({ driverId, event }),
          onTelemetry: (cpId, payload, at) => {
            const list = sent.get(cpId) ?? [];
            list.push({ type: payload.type, at });
            sent.set(cpId, list);
          },
        });
        try {
          await fleet.ramped;
          assert.equal(fleet.counts().loggedIn, 50, "every CP logged in");
          await new Promise((r) => setTimeout(r, RUN_MS));
          assert.ok(await fleet.drain(30_000), "every session ended with a ticket");
        } finally {
          await fleet.stop();
        }

        const counts = fleet.counts();
        assert.equal(counts.errors, 0, "the fleet counted no error");
        assert.deepEqual(errors.map((r) => r.message.join("")), [], "no error was logged");
        assert.ok(counts.tickets >= 50, `a minute gives many tickets (got ${counts.tickets})`);

        // The threads' telemetry reached this thread, each CP's in the order it was sent.
        for (const t of fleet.tickets) {
          const ends = (sent.get(t.cpId) ?? []).filter((n) => n.type === "SUPPLY_END");
          assert.ok(ends.length > 0, `${t.cpId}'s SUPPLY_END came back`);
        }
        for (const [cpId, notes] of sent) {
          assert.ok(notes.every((n, i) => i === 0 || n.at >= notes[i - 1].at), `${cpId} in order`);
        }

        // Every request answered exactly once.
        const requested = events.filter((e) => e.event.kind === "requested");
        const answers = events.flatMap(({ event }) =>
          event.kind === "authorized"
            ? [event.requestId]
            : event.kind === "denied"
            ? [event.denial.requestId]
            : []
        );
        assert.equal(answers.length, requested.length, "one answer per request");
        assert.equal(new Set(answers).size, answers.length, "no request answered twice");
        const duplicates = events.filter((e) =>
          e.event.kind === "ignored" && e.event.reason === "duplicate"
        );
        assert.deepEqual(duplicates, [], "no answer or ticket came twice");

        // Every ticket billed at its CP's registered price.
        const priceOf = new Map(fleet.cps.map((cp) => [cp.id, cp.priceEurKwh]));
        for (const t of fleet.tickets) {
          assert.equal(t.priceEurKwh, priceOf.get(t.cpId), `price of ${t.sessionId}`);
          assert.ok(close(t.eur, t.kwh * t.priceEurKwh), `€ = kWh × price for ${t.sessionId}`);
        }
        assert.equal(new Set(fleet.tickets.map((t) => t.sessionId)).size, fleet.tickets.length);

        // Central's stored sessions and driver totals are the tickets.
        const sessions = (await net.api.get<SessionView[]>("/sessions?status=completed&limit=1000"))
          .filter((s) => priceOf.has(s.cp_id));
        assert.ok(sessions.length < 1000, "every completed session fits in one page");
        assert.equal(sessions.length, fleet.tickets.length, "one stored session per ticket");
        const stored = new Map(sessions.map((s) => [s.id, s]));
        for (const t of fleet.tickets) {
          const s = stored.get(t.sessionId);
          assert.ok(s, `session ${t.sessionId} is stored`);
          assert.equal(s.driver_id, t.driverId);
          assert.equal(s.kwh, t.kwh, `kWh of ${t.sessionId}`);
          assert.equal(s.eur, t.eur, `€ of ${t.sessionId}`);
        }
        const active = await net.api.get<SessionView[]>("/sessions?status=active&limit=1000");
        assert.deepEqual(active.filter((s) => priceOf.has(s.cp_id)), [], "no session left open");
        const drivers = await net.api.get<DriverView[]>("/drivers");
        for (const d of drivers.filter((d) => fleet.tickets.some((t) => t.driverId === d.id))) {
          const mine = fleet.tickets.filter((t) => t.driverId === d.id);
          assert.equal(d.sessions, mine.length, `sessions of ${d.id}`);
          assert.ok(close(d.kwh, mine.reduce((sum, t) => sum + t.kwh, 0)), `kWh of ${d.id}`);
          assert.ok(close(d.eur, mine.reduce((sum, t) => sum + t.eur, 0)), `€ of ${d.id}`);
        }
      } finally {
        await net.stop();
        await stopLogging();
      }
    });
  },
);
