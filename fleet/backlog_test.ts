import assert from "node:assert/strict";
import { CpKeyring, openEnvelope, ReplayGuard } from "../shared/envelope.ts";
import { TOPICS } from "../shared/kafka.ts";
import { parseMessage, telemetryPayloadSchema } from "../shared/messages.ts";
import { type BacklogCp, backlogMessages, drainFigures } from "./backlog.ts";

const aesKey = () =>
  crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);

Deno.test("backlog: every envelope opens under its CP's key, in seq order, with a valid payload", async () => {
  const at = Date.parse("2026-12-05T19:00:00.000Z");
  const cps: BacklogCp[] = [
    {
      cpId: "B-CP-00001",
      keyVersion: 3,
      key: await aesKey(),
      supply: { v: 1, type: "SUPPLY", sessionId: "S-1", kw: 22, kwh: 2, eur: 0.8, ts: "x" },
    },
    { cpId: "B-CP-00002", keyVersion: 1, key: await aesKey() },
  ];
  const keyring = new CpKeyring();
  for (const cp of cps) keyring.add(cp.cpId, cp.keyVersion, cp.key);
  const guard = new ReplayGuard(); // as Central's: each seq must be above the last
  const opened = [];
  for (const { cpId, envelope } of backlogMessages(cps, 5, 1000, at)) {
    const payload = await openEnvelope(keyring, JSON.parse(JSON.stringify(envelope)), {
      channel: TOPICS.cpTelemetry,
      expectCp: cpId,
      guard,
    });
    const parsed = parseMessage(telemetryPayloadSchema, payload);
    assert.ok(parsed.ok, parsed.ok ? "" : parsed.reason);
    opened.push({ cpId, seq: envelope.seq, payload: parsed.value });
  }
  assert.deepEqual(opened.map((o) => [o.cpId, o.seq]), [
    ["B-CP-00001", 1000],
    ["B-CP-00002", 1000],
    ["B-CP-00001", 1001],
    ["B-CP-00002", 1001],
    ["B-CP-00001", 1002],
  ]);
  const supplies = opened.flatMap((o) => o.payload.type === "SUPPLY" ? [o.payload] : []);
  assert.deepEqual(supplies.map((s) => [s.sessionId, s.kwh, s.eur]), [
    ["S-1", 2.001, 0.8004],
    ["S-1", 2.002, 0.8008],
    ["S-1", 2.003, 0.8012],
  ]);
  assert.ok(supplies.every((s) => s.ts === "2026-12-05T19:00:00.000Z"));
  assert.equal(opened[1].payload.type, "STATUS", "an idle CP reports its status");
  assert.throws(() => backlogMessages([], 1, 0, at).next(), RangeError);
  assert.throws(() => backlogMessages(cps, -1, 0, at).next(), RangeError);
});

Deno.test("drain figures: the rate leaves start-up out, CPU over the drain, the peak memory", () => {
  const figures = drainFigures([
    { at: 0, done: 0, cpuMs: 0, mainCpuMs: 0, peakKib: 1024 },
    { at: 1000, done: 0, cpuMs: 300, mainCpuMs: 200, peakKib: 2048 },
    { at: 2000, done: 400, cpuMs: 1200, mainCpuMs: 900, peakKib: 4096 },
    { at: 3000, done: 1000, cpuMs: 2100, mainCpuMs: 1500, peakKib: 3072 },
    { at: 4000, done: 1000, cpuMs: 2200, peakKib: 9999 },
  ], 1000);
  assert.equal(figures.seconds, 2, "from the last sample before progress to the first at the end");
  assert.equal(figures.perSecond, 500);
  assert.equal(figures.totalSeconds, 3);
  assert.equal(figures.cpuPercent, 90);
  assert.equal(figures.cpuUsPerMessage, 1800, "1800 ms of CPU over 1000 messages");
  assert.equal(figures.mainCpuPercent, 65, "1300 ms of it on the main thread");
  assert.equal(figures.mainCpuUsPerMessage, 1300);
  assert.equal(figures.peakMib, 4, "up to the end of the drain");
  const unmeasured = drainFigures([{ at: 0, done: 0 }, { at: 500, done: 10 }], 10);
  assert.equal(unmeasured.cpuPercent, undefined);
  assert.equal(unmeasured.cpuUsPerMessage, undefined);
  assert.equal(unmeasured.mainCpuUsPerMessage, undefined);
  assert.equal(unmeasured.peakMib, undefined);
  assert.throws(() => drainFigures([{ at: 0, done: 5 }], 10), RangeError);
});
