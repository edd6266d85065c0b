import assert from "node:assert/strict";
import {
  applyEvent,
  applyEvents,
  type AuditView,
  BatchDraft,
  type CpView,
  eventSeq,
  filterAudit,
  fromSnapshot,
  liveSession,
  newestSessions,
  type SessionView,
  type Snapshot,
} from "./state.ts";
import { idleCp } from "./test_support.ts";

const CP: CpView = idleCp({ location: "Oslo" });
const SESSION: SessionView = {
  id: "S1",
  cp_id: "CP-1",
  driver_id: "D-1",
  started_at: "2025-03-01T10:00:00.000Z",
  ended_at: null,
  kwh: 0,
  eur: 0,
  end_reason: null,
};
const SNAPSHOT: Snapshot = {
  boot: "b",
  last_event_id: "b-7",
  cps: [CP],
  drivers: [],
  sessions: { active: [], recent: [] },
  weather: [],
  audit: [],
  status: {
    kafka: { status: "ok", detail: "", outbox_pending: 0 },
    registry: { status: "ok", detail: "", last_ok_at: null },
    weather: { status: "unknown", detail: "", last_report_at: null, alerts: 0 },
  },
  registry_admin: false,
  local_cps: true,
};

Deno.test("web state: a session's start, figures and ticket move CP, sessions and driver", () => {
  let state = fromSnapshot(SNAPSHOT);
  state = applyEvent(state, "session", SESSION);
  state = applyEvent(state, "cp", {
    ...CP,
    state: "SUPPLYING",
    driver_id: "D-1",
    session_id: "S1",
  });
  state = applyEvent(state, "telemetry", {
    ...CP,
    state: "SUPPLYING",
    driver_id: "D-1",
    session_id: "S1",
    kw: 22,
    kwh: 2,
    eur: 1,
  });
  assert.equal(state.cps["CP-1"].kwh, 2);
  assert.equal(state.active.S1.kwh, 0, "a batch leaves the session's figures to the lists");
  const live = liveSession(state.active.S1, state.cps);
  assert.equal(live.kwh, 2);
  assert.equal(liveSession(live, state.cps), live, "nothing new: the same session");

  const ticket = { ...SESSION, ended_at: "2025-03-01T10:05:00.000Z", kwh: 3, eur: 1.5 };
  state = applyEvent(state, "ticket", ticket);
  state = applyEvent(state, "ticket", ticket); // a replay counts once
  assert.deepEqual(Object.keys(state.active), []);
  assert.deepEqual(state.recent.map((s) => s.id), ["S1"]);
  const driver = state.drivers["D-1"];
  assert.deepEqual([driver.sessions, driver.kwh, driver.current_session], [1, 3, null]);
  assert.equal(driver.last_session?.eur, 1.5);
});

Deno.test("web state: audit, weather, status and unknown events", () => {
  let state = fromSnapshot(SNAPSHOT);
  const record = { seq: 1, ts: "t", actor: "admin", action: "cp.stop", outcome: "ok", params: {} };
  state = applyEvent(state, "audit", record);
  state = applyEvent(state, "weather", {
    cp_id: "CP-1",
    city: "Oslo",
    temperature: -3,
    status: "alert",
    since: "t",
    updated_at: "t",
  });
  assert.equal(state.audit[0].action, "cp.stop");
  assert.equal(state.weather["CP-1"].status, "alert");
  assert.equal(applyEvent(state, "ping", {}), state);
});

Deno.test("web state: event ids of this boot give their sequence, others none", () => {
  assert.equal(eventSeq("b-12", "b"), 12);
  assert.equal(eventSeq("c-12", "b"), undefined);
  assert.equal(eventSeq("garbage", "b"), undefined);
});

Deno.test("web state: the audit filter matches actor, action and params, and the outcome", () => {
  const records: AuditView[] = [
    {
      seq: 2,
      ts: "t",
      actor: "cp:CP-1",
      action: "telemetry.reject",
      outcome: "rejected",
      params: {},
    },
    { seq: 1, ts: "t", actor: "admin", action: "cp.stop", outcome: "ok", params: { cpId: "CP-9" } },
  ];
  assert.deepEqual(filterAudit(records, { text: "cp-9", outcome: "" }).map((r) => r.seq), [1]);
  assert.deepEqual(filterAudit(records, { text: "", outcome: "rejected" }).map((r) => r.seq), [2]);
  assert.equal(filterAudit(records, { text: " ", outcome: "" }).length, 2);
});

Deno.test("web state: a batch gives what its events give one by one, and keeps what it leaves", () => {
  const other = { ...CP, id: "CP-2" };
  const base = fromSnapshot({ ...SNAPSHOT, cps: [CP, other] });
  const events = [
    { type: "session", data: SESSION },
    { type: "cp", data: { ...CP, state: "SUPPLYING", session_id: "S1", kwh: 1, eur: 0.5 } },
    { type: "telemetry", data: { ...CP, state: "SUPPLYING", session_id: "S1", kwh: 2, eur: 1 } },
    { type: "cp", data: { ...CP, id: "CP-0", location: "Bergen" } },
    { type: "audit", data: { seq: 1 } },
    { type: "audit", data: { seq: 2 } },
  ];
  const batched = applyEvents(base, events);
  const stepped = events.reduce((s, e) => applyEvent(s, e.type, e.data), base);
  assert.deepEqual(batched, stepped);
  assert.deepEqual(batched.cpOrder, ["CP-0", "CP-1", "CP-2"], "a new CP joins the sorted ids");
  assert.equal(batched.cps["CP-2"], other, "an untouched CP keeps its object");
  assert.deepEqual(batched.audit.map((a) => a.seq), [2, 1], "newest first");
  assert.equal(liveSession(batched.active.S1, batched.cps).kwh, 2);
  assert.equal(applyEvents(base, [{ type: "unknown", data: {} }]), base);
  assert.equal(
    applyEvents(base, [{ type: "telemetry", data: { id: "CP-9", kw: 1 } }]).cps,
    base.cps,
    "figures of an unknown CP are dropped: its cp event comes first",
  );
  const figures = applyEvents(base, [{ type: "telemetry", data: { id: "CP-1", kw: 3 } }]);
  assert.deepEqual(figures.cps["CP-1"], { ...CP, kw: 3 }, "figures merge into the CP");
  assert.equal(figures.cpOrder, base.cpOrder, "no new CP: the same sorted ids");
  assert.equal(figures.drivers, base.drivers);
});

Deno.test("web state: a batch applied in slices gives what it gives at once", () => {
  const base = fromSnapshot({ ...SNAPSHOT, cps: [CP, { ...CP, id: "CP-2" }] });
  const events = [
    { type: "session", data: SESSION },
    { type: "cp", data: { ...CP, state: "SUPPLYING", session_id: "S1" } },
    { type: "telemetry", data: { id: "CP-1", kw: 22, kwh: 2, eur: 1 } },
    { type: "audit", data: { seq: 1 } },
  ];
  const batch = new BatchDraft(base, events);
  const slices = [];
  for (let done = false; !done;) {
    let left = 2;
    done = batch.step(() => --left > 0);
    slices.push(done);
  }
  assert.deepEqual(slices, [false, true], "two events a slice");
  assert.deepEqual(batch.done(), applyEvents(base, events));
  assert.equal(base.cps["CP-1"], CP, "the state it started from is left as it was");
});

Deno.test("web state: the newest open sessions, in one pass", () => {
  const at = (id: string, minute: number) => ({
    ...SESSION,
    id,
    started_at: `2025-03-01T10:${String(minute).padStart(2, "0")}:00.000Z`,
  });
  const active = Object.fromEntries(
    [at("a", 5), at("b", 9), at("c", 1), at("d", 9), at("e", 7)].map((s) => [s.id, s]),
  );
  assert.deepEqual(newestSessions(active, 3).map((s) => s.id), ["b", "d", "e"]);
  assert.deepEqual(newestSessions(active, 9).map((s) => s.id), ["b", "d", "e", "a", "c"]);
  assert.deepEqual(newestSessions({}, 3), []);
});
