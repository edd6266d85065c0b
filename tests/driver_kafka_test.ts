/**
 * The driver against a real broker, with a fake Central written here on shared/kafka.ts: it
 * reads `driver.requests` and answers on `driver.updates` as docs/charging_loop.md §5 says.
 * File mode runs through its ids with the pause; a ticket published while the driver is down
 * reaches it exactly once after a restart; other drivers' updates and malformed ones are
 * dropped and the driver keeps going.
 */
import assert from "node:assert/strict";
import { TOPICS } from "../shared/kafka.ts";
import { withLogRecords } from "../shared/log.ts";
import {
  build,
  type DriverRequest,
  driverRequestSchema,
  type DriverUpdate,
  driverUpdateSchema,
  type MessageFields,
  parseMessage,
} from "../shared/messages.ts";
import type { DriverEvent } from "../driver/core.ts";
import { type DriverHandle, startDriver } from "../driver/driver.ts";
import { openTestClient, testBrokers, type TestClient, uniqueName } from "./kafka_env.ts";

// kafkajs keeps retry timers and sockets that outlive disconnect() by a tick; every client
// started here is stopped, so the sanitizers would only add noise.
const kafkaTest = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

/** Polls `check` every 50 ms until it holds. */
async function waitFor(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

type Answer = (request: DriverRequest, central: FakeCentral) => Promise<void>;

/** A request as the fake Central received it. */
interface Received {
  readonly key: string | null;
  readonly request: DriverRequest;
  readonly at: number;
}

/** Central's side of the driver conversation, scripted by the test. */
class FakeCentral {
  readonly received: Received[] = [];
  #client: TestClient | undefined;

  /** Answers, with `answer`, every valid request from the given drivers. */
  static async start(driverIds: readonly string[], answer: Answer): Promise<FakeCentral> {
    const central = new FakeCentral();
    central.#client = await openTestClient("fake-central", [TOPICS.driverRequests], async (m) => {
      if (m.key === null || !driverIds.includes(m.key)) return; // earlier runs', other drivers'
      const parsed = parseMessage(driverRequestSchema, m.value);
      assert.ok(parsed.ok, parsed.ok ? "" : parsed.reason);
      central.received.push({ key: m.key, request: parsed.value, at: Date.now() });
      await answer(parsed.value, central);
    });
    return central;
  }

  /** The producer of the client `start` opened. */
  get #producer() {
    assert.ok(this.#client, "started");
    return this.#client.producer;
  }

  /** Publishes a valid update, keyed by `key` (the addressed driver unless a test says not). */
  send<T extends DriverUpdate["type"]>(
    type: T,
    fields: MessageFields<Extract<DriverUpdate, { type: T }>>,
    key = (fields as { driverId: string }).driverId,
  ): Promise<unknown> {
    return this.#producer.send(TOPICS.driverUpdates, key, build(driverUpdateSchema, type, fields));
  }

  /** Publishes raw bytes keyed by `key`: what a broken producer might write. */
  sendRaw(key: string, value: string): Promise<unknown> {
    return this.#producer.producer.send({
      topic: TOPICS.driverUpdates,
      messages: [{ key, value }],
    });
  }

  /** The charge requests received, in order. */
  charges(): Extract<DriverRequest, { type: "CHARGE_REQUEST" }>[] {
    return this.received.flatMap((r) => r.request.type === "CHARGE_REQUEST" ? [r.request] : []);
  }

  async stop(): Promise<void> {
    await this.#client?.close();
  }
}

/** Starts a driver that records its events. */
async function driver(
  driverId: string,
  options: { plan?: string[]; pauseMs?: number } = {},
): Promise<{ handle: DriverHandle; events: DriverEvent[] }> {
  const events: DriverEvent[] = [];
  const handle = await startDriver({
    brokers: testBrokers(),
    driverId,
    ...options,
    onEvent: (e) => events.push(e),
  });
  return { handle, events };
}

const ofKind = <K extends DriverEvent["kind"]>(events: readonly DriverEvent[], kind: K) =>
  events.filter((e): e is Extract<DriverEvent, { kind: K }> => e.kind === kind);

kafkaTest(
  "driver file mode: one charge ticketed, two denied, the pause kept, the summary right",
  async () => {
    const driverId = uniqueName("D");
    const pauseMs = 2000;
    const central = await FakeCentral.start([driverId], async (req, c) => {
      assert.equal(req.type, "CHARGE_REQUEST");
      if (req.type !== "CHARGE_REQUEST") return;
      const { requestId, cpId } = req;
      if (cpId === "CP-001") {
        const sessionId = `S-${requestId}`;
        await c.send("AUTHORIZED", { requestId, driverId, cpId, sessionId });
        for (const kwh of [0.5, 1]) {
          await c.send("SUPPLY", { sessionId, driverId, cpId, kw: 22, kwh, eur: kwh * 0.4 });
        }
        await c.send("TICKET", {
          sessionId,
          driverId,
          cpId,
          kwh: 1.25,
          eur: 0.5,
          seconds: 205,
          endReason: "unplugged",
          priceEurKwh: 0.4,
        });
      } else {
        const reason = cpId === "CP-002" ? "busy" : "unknown_cp";
        await c.send("DENIED", { requestId, driverId, cpId, reason });
      }
    });
    try {
      const { handle, events } = await driver(driverId, {
        plan: ["CP-001", "CP-002", "CP-009"],
        pauseMs,
      });
      const summary = await handle.done;

      // The requests: in file order, keyed by the driver, fresh UUIDs.
      assert.deepEqual(central.charges().map((r) => r.cpId), ["CP-001", "CP-002", "CP-009"]);
      assert.ok(
        central.received.every((r) => r.key === driverId && r.request.driverId === driverId),
      );
      const ids = central.charges().map((r) => r.requestId);
      assert.equal(new Set(ids).size, 3);
      assert.ok(
        ids.every((id) =>
          /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)
        ),
      );

      // The conversation, as the driver saw it.
      assert.deepEqual(
        events.map((e) => e.kind).filter((k) => k !== "supply"),
        [
          "requested",
          "authorized",
          "ticket",
          "paused",
          "requested",
          "denied",
          "paused",
          "requested",
          "denied",
          "finished",
        ],
      );
      assert.deepEqual(ofKind(events, "supply").map((e) => e.kwh), [0.5, 1]);

      // The pause: each request after an outcome comes no sooner than pauseMs after it, as seen
      // by the driver and by Central.
      const outcomes = events.filter((e) => e.kind === "ticket" || e.kind === "denied");
      const requests = ofKind(events, "requested");
      for (let i = 1; i < requests.length; i++) {
        const gap = requests[i].at - outcomes[i - 1].at;
        assert.ok(gap >= pauseMs, `request ${i + 1} came ${gap} ms after the outcome`);
        assert.ok(gap < pauseMs + 1500, `request ${i + 1} came late: ${gap} ms`);
        const seen = central.received[i].at - central.received[i - 1].at;
        assert.ok(seen >= pauseMs, `Central saw requests ${seen} ms apart`);
      }

      // The summary.
      assert.equal(summary.tickets.length, 1);
      assert.deepEqual(
        [
          summary.tickets[0].cpId,
          summary.tickets[0].kwh,
          summary.tickets[0].eur,
          summary.tickets[0].late,
        ],
        ["CP-001", 1.25, 0.5, false],
      );
      assert.deepEqual(summary.denials.map((d) => [d.cpId, d.reason]), [
        ["CP-002", "busy"],
        ["CP-009", "unknown_cp"],
      ]);
      assert.equal(summary.kwh, 1.25);
      assert.equal(summary.eur, 0.5);
      assert.deepEqual(summary.ignored, { duplicate: 0, invalid: 0, stale: 0, other_session: 0 });
      assert.deepEqual(await handle.stop(), summary, "stop after the end is a no-op");
    } finally {
      await central.stop();
    }
  },
);

kafkaTest("driver restart: a ticket published while the driver is down arrives once", async () => {
  const driverId = uniqueName("D");
  const cpId = "CP-004";
  let sessionId = "";
  const central = await FakeCentral.start([driverId], async (req, c) => {
    if (req.type !== "CHARGE_REQUEST") return;
    sessionId = `S-${req.requestId}`;
    await c.send("AUTHORIZED", { requestId: req.requestId, driverId, cpId, sessionId });
    await c.send("SUPPLY", { sessionId, driverId, cpId, kw: 11, kwh: 0.2, eur: 0.1 });
  });
  /** A CP_LIST nobody asked for: once the driver has it, it has everything sent before it. */
  const sentinel = () => central.send("CP_LIST", { driverId, cps: [] });
  try {
    const first = await driver(driverId);
    first.handle.charge(cpId);
    await waitFor("supplying", () => first.handle.state().phase.kind === "supplying");
    await first.handle.stop();

    await central.send("TICKET", {
      sessionId,
      driverId,
      cpId,
      kwh: 0.75,
      eur: 0.375,
      seconds: 90,
      endReason: "unplugged",
      priceEurKwh: 0.5,
    });

    const second = await driver(driverId);
    await sentinel();
    await waitFor("the sentinel", () => ofKind(second.events, "cp_list").length === 1);
    // Only what came after the first driver's last commit: the ticket, then the sentinel.
    assert.deepEqual(second.events.map((e) => e.kind), ["ticket", "cp_list"]);
    const [ticket] = ofKind(second.events, "ticket");
    assert.equal(ticket.ticket.sessionId, sessionId);
    assert.equal(ticket.ticket.late, true, "the new process never saw the session");
    const summary = await second.handle.stop();
    assert.equal(summary.tickets.length, 1);
    assert.equal(summary.kwh, 0.75);
    assert.equal(summary.eur, 0.375);

    // A third start gets nothing again.
    const third = await driver(driverId);
    await sentinel();
    await waitFor("the second sentinel", () => ofKind(third.events, "cp_list").length === 1);
    assert.deepEqual(third.events.map((e) => e.kind), ["cp_list"]);
    await third.handle.stop();
  } finally {
    await central.stop();
  }
});

kafkaTest(
  "driver: other drivers' updates are skipped, malformed ones dropped with a reason",
  async () => {
    await withLogRecords("debug", async (records) => {
      const driverId = uniqueName("D");
      const other = uniqueName("D");
      const cpId = "CP-002";
      const central = await FakeCentral.start([driverId], async (req, c) => {
        if (req.type !== "CHARGE_REQUEST") return;
        const { requestId } = req;
        const sessionId = `S-${requestId}`;
        // Before the real answer: noise on the driver's partition and others.
        await c.send("DENIED", { requestId, driverId: other, cpId, reason: "busy" }); // other's key
        await c.send("DENIED", { requestId, driverId: other, cpId, reason: "busy" }, driverId);
        await c.sendRaw(driverId, "{not json");
        await c.sendRaw(driverId, JSON.stringify({ v: 1, type: "TICKET", driverId, sessionId }));
        await c.sendRaw(driverId, JSON.stringify({ v: 2, type: "AUTHORIZED" }));
        await c.send("AUTHORIZED", { requestId, driverId, cpId, sessionId });
        await c.send("TICKET", {
          sessionId,
          driverId,
          cpId,
          kwh: 0,
          eur: 0,
          seconds: 60,
          endReason: "plug_timeout",
          priceEurKwh: 0.3,
        });
      });
      try {
        const { handle, events } = await driver(driverId);
        handle.charge(cpId);
        await waitFor("the ticket", () => handle.state().phase.kind === "ticketed");

        // The other driver's key: not even looked at. Ours with another driver id, the non-JSON
        // value and the two schema failures: dropped, counted, and the conversation went on.
        const ignored = ofKind(events, "ignored");
        assert.deepEqual(ignored.map((e) => e.reason), [
          "invalid",
          "invalid",
          "invalid",
          "invalid",
        ]);
        assert.match(ignored[0].detail, new RegExp(`DENIED addressed to driver ${other}`));
        assert.match(ignored[1].detail, /^driver\.updates\/\d+@\d+: value is not JSON$/);
        assert.match(ignored[2].detail, /: cpId: required$/);
        assert.match(ignored[3].detail, /: v: unsupported schema version 2, expected 1$/);
        assert.deepEqual(
          events.map((e) => e.kind).filter((k) => k !== "ignored"),
          ["requested", "authorized", "ticket"],
        );
        const summary = await handle.stop();
        assert.equal(summary.ignored.invalid, 4);
        assert.equal(summary.denials.length, 0, "the other driver's denial is not ours");
        assert.equal(summary.tickets.length, 1);

        // Each drop was logged as a warning with its reason.
        const warnings = records.filter((r) =>
          r.level === "warning" && (r.properties as { kind?: string }).kind === "ignored"
        );
        assert.equal(warnings.length, 4);
        assert.ok(warnings.every((r) => typeof r.properties.detail === "string"));
      } finally {
        await central.stop();
      }
    });
  },
);

/** Runs `driver/main.ts` as a process with `args`; returns its exit code and JSON log records. */
async function runDriverProcess(
  args: string[],
): Promise<{ code: number; records: Record<string, unknown>[]; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "--allow-read", "driver/main.ts", ...args],
    cwd: new URL("..", import.meta.url),
    env: { LOG_LEVEL: "info" },
    stdin: "null",
  }).output();
  const text = new TextDecoder();
  const records = text.decode(out.stdout).split("\n").filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l));
  return { code: out.code, records, stderr: text.decode(out.stderr) };
}

kafkaTest(
  "driver process: a file run logs JSON, reports bad lines, ends with a Summary, exit 0",
  async () => {
    const driverId = uniqueName("D");
    const central = await FakeCentral.start([driverId], async (req, c) => {
      if (req.type !== "CHARGE_REQUEST") return;
      await c.send("DENIED", {
        requestId: req.requestId,
        driverId,
        cpId: req.cpId,
        reason: "broken",
      });
    });
    const dir = await Deno.makeTempDir({ prefix: "driver_file_" });
    try {
      const file = `${dir}/plan.txt`;
      await Deno.writeTextFile(file, "# two CPs\nCP-001\n\nnot a cp\nCP-002 # the second\n");
      const run = await runDriverProcess([
        testBrokers().join(","),
        driverId,
        file,
        "--pause",
        "300ms",
      ]);
      assert.equal(run.code, 0, run.stderr);
      const mine = run.records.filter((r) => r.logger === "evcharging.driver");
      const bad = mine.find((r) => r.level === "WARN");
      assert.deepEqual(bad?.properties, { path: file, line: 4, text: "not a cp" });
      assert.deepEqual(
        mine.map((r) => (r.properties as { kind?: string }).kind).filter((k) => k !== undefined),
        ["requested", "denied", "paused", "requested", "denied", "finished", "summary"],
      );
      const summary = mine.at(-1)?.properties as Record<string, unknown>;
      assert.deepEqual([summary.tickets, summary.denials, summary.deniedBy], [0, 2, { broken: 2 }]);

      // Unusable command lines stop before Kafka, with exit code 2.
      await Deno.writeTextFile(file, "# nothing\n\n");
      assert.equal((await runDriverProcess([testBrokers()[0], driverId, file])).code, 2);
      assert.equal((await runDriverProcess([testBrokers()[0], driverId, "--loop"])).code, 2);
    } finally {
      await central.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
);
