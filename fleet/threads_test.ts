import assert from "node:assert/strict";
// First: threads.ts (through fleet.ts) loads the Registry's schemas before cp/config.ts's.
import { postsDriverEvent, startFleetThreads } from "./threads.ts";
import { address } from "../cp/config.ts";
import type { DriverEvent } from "../driver/core.ts";

const options = {
  prefix: "T",
  cps: 2,
  drivers: 1,
  brokers: ["127.0.0.1:1"],
  central: { host: "127.0.0.1", port: 1 },
  registryUrl: "https://127.0.0.1:1",
  credentialsDir: "/nonexistent",
};

Deno.test("startFleetThreads: a thread count that is not a whole number ≥ 1 is refused", async () => {
  for (const threads of [0, -2, 1.5]) {
    await assert.rejects(
      startFleetThreads({ ...options, threads }),
      /threads must be a whole number of at least 1, got/,
    );
  }
});

Deno.test("startFleetThreads: a random function cannot be shared across threads", async () => {
  await assert.rejects(
    startFleetThreads({ ...options, threads: 2, random: Math.random }),
    /a fleet over threads cannot share a `random` function/,
  );
});

Deno.test("startFleetThreads: a thread whose fleet cannot start fails the whole start", async () => {
  await assert.rejects(
    startFleetThreads({ ...options, threads: 2, prefix: "not a prefix!" }),
    /a fleet thread could not start: a fleet prefix is 1–40 of/,
  );
});

Deno.test("startFleetThreads: a parsed --central address reaches the threads", async () => {
  // The prefix fails in the threads: getting that far means the options crossed over.
  await assert.rejects(
    startFleetThreads({
      ...options,
      threads: 2,
      prefix: "not a prefix!",
      central: address("127.0.0.1:1"),
    }),
    /a fleet thread could not start: a fleet prefix is 1–40 of/,
  );
});

Deno.test("postsDriverEvent: every event when someone listens, else only denials and tickets", () => {
  const ts = "2026-12-02T12:00:00.000Z";
  const events: DriverEvent[] = [
    { kind: "requested", at: 1, requestId: "R1", cpId: "CP1" },
    {
      kind: "supply",
      at: 2,
      cpId: "CP1",
      sessionId: "S1",
      kw: 7,
      kwh: 0.1,
      eur: 0.03,
      first: true,
    },
    {
      kind: "ticket",
      at: 3,
      ticket: {
        sessionId: "S1",
        cpId: "CP1",
        kwh: 1,
        eur: 0.3,
        seconds: 60,
        endReason: "unplugged",
        priceEurKwh: 0.3,
        ts,
        late: false,
      },
    },
    {
      kind: "denied",
      at: 4,
      denial: { requestId: "R2", cpId: "CP2", reason: "busy", detail: undefined, ts, late: false },
    },
  ];
  assert.deepEqual(events.map((e) => postsDriverEvent(true, e)), [true, true, true, true]);
  assert.deepEqual(events.map((e) => postsDriverEvent(false, e)), [false, false, true, true]);
});
