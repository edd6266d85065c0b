import assert from "node:assert/strict";
import fc from "fast-check";
import type { CpState } from "../shared/messages.ts";
import {
  CP_EVENT_TYPES,
  type CpEvent,
  type CpStatus,
  DISCONNECTED,
  isRefusal,
  settledState,
  transition,
} from "./cp_state.ts";

// One typical status per state: what the CP looks like when it shows that state.
const TYPICAL: Record<CpState, CpStatus> = {
  ACTIVATED: { state: "ACTIVATED", stopReason: null, sessionId: null },
  SUPPLYING: { state: "SUPPLYING", stopReason: null, sessionId: "S1" },
  STOPPED: { state: "STOPPED", stopReason: "admin", sessionId: null },
  BROKEN: { state: "BROKEN", stopReason: null, sessionId: null },
  DISCONNECTED,
};

const EVENTS: Record<CpEvent["type"], CpEvent> = {
  LOGIN: { type: "LOGIN" },
  LOST: { type: "LOST" },
  ENGINE_KO: { type: "ENGINE_KO" },
  ENGINE_OK: { type: "ENGINE_OK" },
  SESSION_START: { type: "SESSION_START", sessionId: "S2" },
  SESSION_END: { type: "SESSION_END", sessionId: "S1" },
  STOP: { type: "STOP", reason: "weather" },
  RESUME: { type: "RESUME" },
};

// Expected state after each (state, event), or R for refused. A table, so it stays one row per
// state: A ACTIVATED, S SUPPLYING, T STOPPED, B BROKEN, D DISCONNECTED.
const [A, S, T, B, D, R] = [
  "ACTIVATED",
  "SUPPLYING",
  "STOPPED",
  "BROKEN",
  "DISCONNECTED",
  "refused",
] as const;
// deno-fmt-ignore
const TABLE: Record<CpState, readonly (CpState | typeof R)[]> = {
  //           LOGIN LOST ENGINE_KO ENGINE_OK SESSION_START SESSION_END STOP RESUME
  ACTIVATED:    [A,   D,   B,        A,        S,            R,          T,   A],
  SUPPLYING:    [S,   D,   B,        S,        R,            A,          T,   S],
  STOPPED:      [T,   D,   B,        T,        R,            R,          T,   A],
  BROKEN:       [A,   D,   B,        A,        R,            R,          B,   B],
  DISCONNECTED: [A,   D,   R,        R,        R,            R,          D,   D],
};

for (const [state, row] of Object.entries(TABLE) as [CpState, typeof TABLE[CpState]][]) {
  Deno.test(`cp_state: every event from ${state}`, () => {
    assert.equal(row.length, CP_EVENT_TYPES.length);
    CP_EVENT_TYPES.forEach((type, i) => {
      const outcome = transition(TYPICAL[state], EVENTS[type]);
      const got = isRefusal(outcome) ? R : outcome.state;
      assert.equal(got, row[i], `${state} + ${type}`);
    });
  });
}

Deno.test("cp_state: the hold survives a disconnect and a fault and shows again after", () => {
  let s: CpStatus = TYPICAL.ACTIVATED;
  const step = (e: CpEvent) => {
    const out = transition(s, e);
    assert.ok(!isRefusal(out), `${e.type} refused`);
    s = out;
    return s.state;
  };
  assert.equal(step({ type: "STOP", reason: "admin" }), "STOPPED");
  assert.equal(step({ type: "LOST" }), "DISCONNECTED");
  assert.equal(step({ type: "LOGIN" }), "STOPPED");
  assert.equal(step({ type: "ENGINE_KO" }), "BROKEN");
  assert.equal(step({ type: "ENGINE_OK" }), "STOPPED");
  assert.equal(step({ type: "RESUME" }), "ACTIVATED");
  assert.equal(s.stopReason, null);
});

Deno.test("cp_state: a session survives a disconnect and shows SUPPLYING again on login", () => {
  const lost = transition(TYPICAL.SUPPLYING, { type: "LOST" }) as CpStatus;
  assert.deepEqual(lost, { state: "DISCONNECTED", stopReason: null, sessionId: "S1" });
  const back = transition(lost, { type: "LOGIN" }) as CpStatus;
  assert.equal(back.state, "SUPPLYING");
  const ended = transition(lost, { type: "SESSION_END", sessionId: "S1" }) as CpStatus;
  assert.deepEqual(ended, DISCONNECTED, "a ticket while disconnected frees the CP");
});

Deno.test("cp_state: a stop during a session shows STOPPED and keeps the session until its end", () => {
  const stopped = transition(TYPICAL.SUPPLYING, { type: "STOP", reason: "admin" }) as CpStatus;
  assert.deepEqual(stopped, { state: "STOPPED", stopReason: "admin", sessionId: "S1" });
  const resumed = transition(stopped, { type: "RESUME" }) as CpStatus;
  assert.equal(resumed.state, "SUPPLYING", "resumed before the SUPPLY_END arrived");
  const ended = transition(stopped, { type: "SESSION_END", sessionId: "S1" }) as CpStatus;
  assert.deepEqual(ended, { state: "STOPPED", stopReason: "admin", sessionId: null });
});

Deno.test("cp_state: SESSION_END of another session is refused", () => {
  assert.ok(isRefusal(transition(TYPICAL.SUPPLYING, { type: "SESSION_END", sessionId: "S9" })));
});

Deno.test("cp_state: invariants hold over random event sequences", () => {
  const event = fc.oneof(
    ...CP_EVENT_TYPES.filter((t) => t !== "SESSION_START" && t !== "SESSION_END" && t !== "STOP")
      .map((type) => fc.constant({ type } as CpEvent)),
    fc.constantFrom("S1", "S2").map((sessionId): CpEvent => ({ type: "SESSION_START", sessionId })),
    fc.constantFrom("S1", "S2").map((sessionId): CpEvent => ({ type: "SESSION_END", sessionId })),
    fc.constantFrom("admin", "weather", "out_of_service", "revoked" as const)
      .map((reason): CpEvent => ({ type: "STOP", reason })),
  );
  fc.assert(fc.property(fc.array(event, { maxLength: 40 }), (events) => {
    let s = DISCONNECTED;
    for (const e of events) {
      const out = transition(s, e);
      if (isRefusal(out)) continue;
      s = out;
      if (s.state === "SUPPLYING") assert.ok(s.sessionId !== null && s.stopReason === null);
      if (s.state === "STOPPED") assert.ok(s.stopReason !== null);
      if (s.state === "ACTIVATED") assert.ok(s.sessionId === null && s.stopReason === null);
      if (s.state !== "DISCONNECTED" && s.state !== "BROKEN") {
        assert.equal(s.state, settledState(s));
      }
    }
  }));
});
