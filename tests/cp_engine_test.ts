/**
 * The CP engine with real sockets and a real broker: a framed client plays the monitor, the
 * test plays Central on `cp.commands` / `cp.telemetry` with its own copy of the CP key.
 * Run with `deno task test tests/cp_engine_test.ts` (it starts Kafka).
 */
// First: registry/schemas.ts needs @hono/zod-openapi loaded before shared/messages.ts.
import { waitFor } from "../cp/test_support.ts";
import assert from "node:assert/strict";
import { type EngineHandle, startEngine } from "../cp/engine.ts";
import { LinkKey, openEngineLink } from "../cp/engine_link.ts";
import { importCpKey } from "../shared/cp_key.ts";
import { encodeBase64 } from "../shared/encoding.ts";
import { openEnvelope, ReplayGuard, sealEnvelope, SeqCounter } from "../shared/envelope.ts";
import { FramedConn, FramedConnError } from "../shared/framed_conn.ts";
import { withLogRecords } from "../shared/log.ts";
import { TOPICS } from "../shared/kafka.ts";
import {
  build,
  type CommandPayload,
  commandPayloadSchema,
  type EngineHealth,
  monitorToEngineSchema,
  parseMessage,
  type TelemetryPayload,
  telemetryPayloadSchema,
} from "../shared/messages.ts";
import { openTestClient, testBrokers, type TestClient, uniqueName } from "./kafka_env.ts";
import { assertSealed } from "./kafka_wire.ts";

// kafkajs keeps retry timers and sockets that outlive disconnect() by a tick.
const kafkaTest = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

/** A fresh random CP key: the base64 the monitor would hand over, and the test's CryptoKey. */
async function newKey(): Promise<{ base64: string; key: CryptoKey }> {
  const base64 = encodeBase64(crypto.getRandomValues(new Uint8Array(32)));
  return { base64, key: await importCpKey(base64) };
}

/** Plays the monitor on the engine's loopback socket. */
class FakeMonitor {
  readonly #conn: FramedConn;
  readonly #answers: EngineHealth[] = [];

  private constructor(conn: FramedConn) {
    this.#conn = conn;
    (async () => {
      try {
        for await (const m of conn) this.#answers.push((m as { engine: EngineHealth }).engine);
      } catch { /* closed */ }
    })();
  }

  /** Connects and proves the engine's link secret, as the real monitor does. */
  static async connect(engine: EngineHandle): Promise<FakeMonitor> {
    const conn = await FramedConn.client(
      await Deno.connect({ hostname: "127.0.0.1", port: engine.port }),
    );
    try {
      await openEngineLink(conn, await LinkKey.of(engine.linkSecret));
    } catch (error) {
      await conn.close();
      throw error;
    }
    return new FakeMonitor(conn);
  }

  async health(): Promise<EngineHealth> {
    const before = this.#answers.length;
    await this.#conn.send(build(monitorToEngineSchema, "HEALTH_CHECK", {}));
    await waitFor(() => this.#answers.length > before, "HEALTH", 1500);
    return this.#answers[before];
  }

  send(frame: unknown): Promise<void> {
    return this.#conn.send(frame);
  }

  close(): Promise<void> {
    return this.#conn.close();
  }
}

/** Plays Central on Kafka: seals commands, collects and opens this CP's telemetry. */
class FakeCentral {
  readonly #seq = new SeqCounter();

  private constructor(
    readonly cpId: string,
    /** This CP's raw `cp.telemetry` values, in arrival order. */
    readonly records: Record<string, unknown>[],
    private readonly client: TestClient,
    private readonly markers: Set<string>,
  ) {}

  static async start(cpId: string): Promise<FakeCentral> {
    const records: Record<string, unknown>[] = [];
    const markers = new Set<string>();
    const client = await openTestClient<Record<string, unknown>>(
      "test-central",
      [TOPICS.cpTelemetry],
      ({ key, value }) => {
        if (key !== cpId) return;
        if (typeof value.marker === "string") markers.add(value.marker);
        else records.push(value);
      },
    );
    return new FakeCentral(cpId, records, client, markers);
  }

  /**
   * Sends a marker keyed by this CP after what the engine has sent so far and waits until it is
   * read back: this CP's records stay in order on one partition, so every record the engine sent
   * before it is in `records` by then, however slow the machine.
   */
  async readEverythingSent(): Promise<void> {
    const marker = crypto.randomUUID();
    await this.client.producer.send(TOPICS.cpTelemetry, this.cpId, { marker });
    await waitFor(() => this.markers.has(marker), "the end marker");
  }

  /** Seals `payload` for (cp, kv) under `key` and sends it keyed by `kafkaKey`. */
  async command(
    payload: CommandPayload,
    key: CryptoKey,
    kv: number,
    { cp = this.cpId, kafkaKey = cp }: { cp?: string; kafkaKey?: string } = {},
  ): Promise<void> {
    const envelope = await sealEnvelope(key, {
      cp,
      kv,
      seq: this.#seq.next(cp, kv),
      channel: TOPICS.cpCommands,
    }, payload);
    await this.client.producer.send(TOPICS.cpCommands, kafkaKey, envelope);
  }

  /** Opens every record received so far, in order, checking the replay guard on the way. */
  async payloads(keys: Map<number, CryptoKey>): Promise<TelemetryPayload[]> {
    const guard = new ReplayGuard();
    const out: TelemetryPayload[] = [];
    for (const record of this.records) {
      const key = keys.get(record.kv as number);
      assert.ok(key, `telemetry under unknown kv ${record.kv}`);
      const payload = await openEnvelope(key, record, {
        channel: TOPICS.cpTelemetry,
        expectCp: this.cpId,
        guard,
      });
      const parsed = parseMessage(telemetryPayloadSchema, payload);
      assert.ok(parsed.ok, parsed.ok ? "" : parsed.reason);
      out.push(parsed.value);
    }
    return out;
  }

  async stop(): Promise<void> {
    await this.client.close();
  }
}

const authorize = (sessionId: string, extra: Partial<CommandPayload> = {}) =>
  build(commandPayloadSchema, "AUTHORIZE", {
    sessionId,
    driverId: "D-test",
    priceEurKwh: 0.4,
    powerKw: 36,
    ...extra,
  } as never);

async function withEngine(
  options: Partial<Parameters<typeof startEngine>[0]>,
  test: (ctx: { engine: EngineHandle; central: FakeCentral; cpId: string }) => Promise<void>,
): Promise<void> {
  const cpId = uniqueName("CP");
  const central = await FakeCentral.start(cpId);
  const engine = await startEngine({ brokers: testBrokers(), port: 0, ...options });
  try {
    await test({ engine, central, cpId });
  } finally {
    await engine.stop();
    await central.stop();
  }
}

kafkaTest(
  "engine: KEY, a sealed AUTHORIZE, then PLUGGED, SUPPLY every second and SUPPLY_END at target",
  async () => {
    // 36 kW at speed 60: 0.6 kWh per wall second, so the 2 kWh target is reached after 3.33 s.
    await withEngine(
      { headless: true, plugDelayMs: 300, speed: 60, targetKwh: 2 },
      async ({ engine, central, cpId }) => {
        const monitor = await FakeMonitor.connect(engine);
        try {
          assert.equal(await monitor.health(), "OK", "healthy before any key");
          const { base64, key } = await newKey();
          await monitor.send(
            build(monitorToEngineSchema, "KEY", { cpId, keyVersion: 1, key: base64 }),
          );
          await engine.commandsReady;
          assert.equal(engine.cpId, cpId, "learnt from KEY");

          // Ignored: another CP's command, and one under a key this CP does not hold.
          const other = await newKey();
          await central.command(authorize("S-other-cp"), other.key, 1, { cp: "CP-someone-else" });
          await central.command(authorize("S-wrong-key"), other.key, 1);
          await central.command(authorize("S-1"), key, 1);

          await waitFor(
            () =>
              central.records.length >= 1 && engine.view().state === "ACTIVATED" &&
              engine.view().lastCommand === "AUTHORIZE S-1" && engine.view().pendingTelemetry === 0,
            "the session to end",
          );
          // STATUS, STATUS, PLUGGED, 3 × SUPPLY, SUPPLY_END, STATUS
          await waitFor(() => central.records.length >= 8, "its telemetry");
          await central.readEverythingSent(); // anything unexpected would be in by now
          const payloads = await central.payloads(new Map([[1, key]]));

          for (const record of central.records) {
            assertSealed(record, ["S-1", "SUPPLY", "STATUS", "kwh", "D-test"]);
          }
          assert.ok(
            payloads.every((p) => !("sessionId" in p) || p.sessionId === "S-1"),
            "the ignored commands left no trace",
          );

          const types = payloads.map((p) => p.type);
          assert.deepEqual(types.slice(0, 3), ["STATUS", "STATUS", "PLUGGED"]);
          assert.deepEqual(types.slice(-2), ["SUPPLY_END", "STATUS"]);
          const [announced, reserved] = payloads as Extract<TelemetryPayload, { type: "STATUS" }>[];
          assert.deepEqual([announced.state, announced.engine], ["ACTIVATED", "OK"]);
          assert.deepEqual([reserved.state, reserved.sessionId], ["SUPPLYING", "S-1"]);

          // Figures sit on the engine's one-second grid from the plug (0.6 kWh per step), so they
          // are exact; the send times (ts) only roughly a second apart on a loaded machine.
          const supply = payloads.filter((p) => p.type === "SUPPLY");
          assert.ok(supply.length >= 2 && supply.length <= 3, `${supply.length} SUPPLY records`);
          const steps = supply.map((p) => Math.round(p.kwh / 0.6));
          assert.ok(steps.every((n, i) => n > (steps[i - 1] ?? 0)), `increasing: ${steps}`);
          supply.forEach((p, i) => {
            assert.ok(Math.abs(p.kwh - 0.6 * steps[i]) < 1e-9, `cumulative kWh ${p.kwh}`);
            assert.ok(Math.abs(p.eur - p.kwh * 0.4) < 1e-12);
            assert.equal(p.kw, 36);
          });
          if (supply.length === 3) assert.deepEqual(steps, [1, 2, 3], "one per second");
          const gaps = supply.slice(1).map((p, i) => Date.parse(p.ts) - Date.parse(supply[i].ts));
          assert.ok(gaps.every((g) => g >= 500 && g <= 2500), `about a second apart: ${gaps}`);

          const end = payloads.at(-2) as Extract<TelemetryPayload, { type: "SUPPLY_END" }>;
          assert.deepEqual(
            [end.sessionId, end.endReason, end.kwh, end.eur],
            ["S-1", "target_reached", 2, 0.8],
          );
        } finally {
          await monitor.close();
        }
      },
    );
  },
);

kafkaTest(
  "engine: HEALTH_CHECK answers OK, KO while the fault is on; one monitor at a time",
  async () => {
    await withEngine({ cpId: uniqueName("CP") }, async ({ engine }) => {
      const monitor = await FakeMonitor.connect(engine);
      try {
        assert.equal(await monitor.health(), "OK");
        engine.toggleFault();
        assert.equal(await monitor.health(), "KO");
        engine.toggleFault();
        assert.equal(await monitor.health(), "OK");

        await assert.rejects(
          FakeMonitor.connect(engine),
          (e) => e instanceof FramedConnError && e.code === "refused",
          "a second monitor is refused while the first is alive",
        );
      } finally {
        await monitor.close();
      }
      const next = await FakeMonitor.connect(engine);
      assert.equal(await next.health(), "OK", "the next monitor is admitted once the first left");
      await next.close();
    });
  },
);

kafkaTest(
  "engine: STOP during supply and a revoked key each end the session; telemetry waits for the next key",
  async () => {
    await withEngine({ speed: 60 }, async ({ engine, central, cpId }) => {
      const monitor = await FakeMonitor.connect(engine);
      try {
        const k1 = await newKey();
        await monitor.send(
          build(monitorToEngineSchema, "KEY", { cpId, keyVersion: 1, key: k1.base64 }),
        );
        await engine.commandsReady;

        await central.command(authorize("S-stop"), k1.key, 1);
        await waitFor(() => engine.view().session?.sessionId === "S-stop", "AUTHORIZE");
        engine.plug(); // the driver presses p
        await waitFor(() => (engine.view().session?.kwh ?? 0) > 0.6, "a second of supply");
        await central.command(
          build(commandPayloadSchema, "STOP", { reason: "weather" }),
          k1.key,
          1,
        );
        await waitFor(() => engine.view().state === "STOPPED", "STOP");
        await central.command(authorize("S-refused"), k1.key, 1);
        await waitFor(() => engine.view().lastCommand === "AUTHORIZE S-refused", "the refusal");
        await central.command(build(commandPayloadSchema, "RESUME", {}), k1.key, 1);
        await waitFor(() => engine.view().state === "ACTIVATED", "RESUME");

        await central.command(authorize("S-revoked"), k1.key, 1);
        await waitFor(() => engine.view().session?.sessionId === "S-revoked", "AUTHORIZE 2");
        engine.plug();
        await monitor.send(build(monitorToEngineSchema, "KEY_REVOKED", { keyVersion: 1 }));
        await waitFor(() => engine.view().session === undefined, "the session to end");
        assert.ok(engine.view().pendingTelemetry > 0, "its SUPPLY_END waits: no key to seal with");

        const k2 = await newKey();
        await monitor.send(
          build(monitorToEngineSchema, "KEY", { cpId, keyVersion: 2, key: k2.base64 }),
        );
        await waitFor(() => engine.view().pendingTelemetry === 0, "the backlog under key 2");
        await waitFor(
          () => central.records.some((r) => r.kv === 2) && central.records.at(-1)?.kv === 2,
          "telemetry under key 2",
        );
        await central.readEverythingSent();
        const payloads = await central.payloads(new Map([[1, k1.key], [2, k2.key]]));
        const ends = payloads.filter((p) => p.type === "SUPPLY_END");
        assert.deepEqual(ends.map((e) => [e.sessionId, e.endReason]), [
          ["S-stop", "stopped_weather"],
          ["S-refused", "stopped_weather"],
          ["S-revoked", "key_lost"],
        ]);
        assert.ok(ends[0].kwh > 0.5, "about 1.2 s of supply at 0.6 kWh/s");
        assert.equal(ends[1].kwh, 0, "refused at once");
        const stopped = payloads.find((p) => p.type === "STATUS" && p.state === "STOPPED");
        assert.ok(stopped?.type === "STATUS" && stopped.stopReason === "weather");
        const lastUnderKey1 = central.records.findLastIndex((r) => r.kv === 1);
        assert.ok(lastUnderKey1 < central.records.findIndex((r) => r.kv === 2), "1 then 2");
      } finally {
        await monitor.close();
      }
    });
  },
);

kafkaTest(
  "engine: a replaced key version opens commands during its grace, and is forgotten after it (expired_kv)",
  async () => {
    await withLogRecords("debug", async (records) => {
      for (const graceMs of [120_000, 0]) {
        await withEngine({ keyGraceMs: graceMs }, async ({ engine, central, cpId }) => {
          const monitor = await FakeMonitor.connect(engine);
          try {
            const [k1, k2] = [await newKey(), await newKey()];
            for (const [keyVersion, k] of [[1, k1], [2, k2]] as const) {
              await monitor.send(
                build(monitorToEngineSchema, "KEY", { cpId, keyVersion, key: k.base64 }),
              );
              await waitFor(() => engine.view().keyVersion === keyVersion, `key ${keyVersion}`);
            }
            await engine.commandsReady;
            await central.command(
              build(commandPayloadSchema, "STOP", { reason: "admin" }),
              k1.key,
              1,
            );
            // Under key 2, after the one under key 1 on the same partition: once this is taken,
            // the one before it was handled.
            await central.command(build(commandPayloadSchema, "RESUME", {}), k2.key, 2);
            await waitFor(() => engine.view().lastCommand === "RESUME", "the command under key 2");
            if (graceMs > 0) {
              assert.ok(
                records.some((r) =>
                  String(r.rawMessage).includes("command {command}") &&
                  r.properties.command === "STOP admin" && r.properties.cpId === cpId
                ),
                "within its grace, key 1 still opens a command",
              );
            } else {
              assert.ok(
                records.some((r) =>
                  r.properties.cpId === cpId && r.properties.reason === "expired_kv"
                ),
                "after its grace, key 1's command is dropped as expired_kv",
              );
              assert.ok(
                !records.some((r) =>
                  r.properties.cpId === cpId && r.properties.command === "STOP admin"
                ),
                "and never acted on",
              );
            }
          } finally {
            await monitor.close();
          }
        });
      }
    });
  },
);
