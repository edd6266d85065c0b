/**
 * The security and audit routes (central/api_security.ts) through `app.request()`, over an
 * in-memory store and a real audit log in a temp folder: who may call what, the answers, and
 * the audit records (with the caller's IP) every call leaves.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { noticeText } from "../shared/notices.ts";
import { ADMIN_TOKEN as ADMIN, testApp } from "./api_test_support.ts";
import { AuditLog } from "./audit.ts";
import { AuditAggregator } from "./audit_flood.ts";
import { DEFAULT_CORE_CONFIG, EMPTY_MODEL } from "./core.ts";
import { CHARGE_S1, cpLogin, dispatch, T0 } from "./core_test_support.ts";
import { CentralRuntime } from "./runtime.ts";
import { CentralStore } from "./store.ts";

const CLIENT = { remoteAddr: { transport: "tcp", hostname: "192.0.2.44", port: 5000 } };

/** CP-1 logged in and supplying S1 for D-1; CP-2 available. */
async function setup() {
  const dir = await Deno.makeTempDir({ prefix: "api_security_" });
  const store = CentralStore.open(":memory:");
  const audit = AuditLog.open({ db: store.db, jsonlPath: join(dir, "audit.jsonl") });
  const floods = new AuditAggregator({ emit: (entry) => audit.append(entry) });
  const runtime = new CentralRuntime(store, EMPTY_MODEL, DEFAULT_CORE_CONFIG, {
    append: (entry) => audit.append(entry),
    offer: (occurrence) => floods.offer(occurrence),
    list: (query) => audit.list(query),
  });
  dispatch(runtime, cpLogin("CP-1", 1));
  dispatch(runtime, cpLogin("CP-2", 2));
  dispatch(runtime, CHARGE_S1);
  const app = testApp(runtime, { now: () => new Date(T0 + 3000) });
  const call = (path: string, init: RequestInit = {}, token: string | null = ADMIN) =>
    app.request(path, {
      ...init,
      headers: {
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        ...(init.body === undefined ? {} : { "content-type": "application/json" }),
      },
    }, CLIENT);
  const post = (path: string, body?: unknown, token: string | null = ADMIN) =>
    call(path, {
      method: "POST",
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }, token);
  const records = (action: string) => audit.list({ action, limit: 100 }).items.reverse();
  return {
    runtime,
    post,
    get: (path: string) => call(path, {}, null),
    records,
    [Symbol.asyncDispose]: async () => {
      audit.close();
      store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("api security: rotate and revoke need the admin token and answer the security view", async () => {
  await using t = await setup();
  const none = await t.post("/cps/CP-1/keys/rotate", undefined, null);
  assert.equal(none.status, 401);
  const wrong = await t.post("/cps/CP-1/keys/revoke", undefined, "not-the-token");
  assert.equal(wrong.status, 401);
  assert.equal(t.runtime.model.cps.get("CP-1")?.keyVersion, 1, "nothing happened");
  assert.deepEqual(t.records("api.auth").map((r) => [r.actor, r.params.reason, r.origin_ip]), [
    ["admin", "missing_bearer", "192.0.2.44"],
    ["admin", "wrong_bearer", "192.0.2.44"],
  ]);

  const rotated = await t.post("/cps/CP-1/keys/rotate");
  assert.equal(rotated.status, 200);
  const view = await rotated.json();
  assert.deepEqual(view, {
    cp_id: "CP-1",
    status: "ACTIVE",
    reason: null,
    changed_at: null,
    key_version: null,
    last_login: new Date(T0).toISOString(),
    failed_logins: 0,
    revoked_at: new Date(T0 + 3000).toISOString(),
    deregistered_at: null,
    state: "DISCONNECTED",
    stop_reason: null,
  });
  assert.equal(t.runtime.model.sessions.size, 0, "the session ended with a ticket");
  const [record] = t.records("key.rotate");
  assert.deepEqual([record.actor, record.outcome, record.origin_ip, record.params.sessionId], [
    "admin",
    "ok",
    "192.0.2.44",
    "S1",
  ]);

  assert.equal((await t.post("/cps/CP-2/keys/revoke")).status, 200);
  assert.equal(t.records("key.revoke")[0].params.cpId, "CP-2");
  const marked = await (await t.get("/cps/CP-2")).json();
  assert.deepEqual([marked.key_revoked, marked.key_revoked_at !== null], [true, true]);
  const rotatedCp = await (await t.get("/cps/CP-1")).json();
  assert.equal(rotatedCp.key_revoked, false, "a rotation is no revocation");
  assert.equal((await t.post("/cps/CP-9/keys/rotate")).status, 404);
  assert.equal((await t.post("/cps/x/keys/rotate")).status, 400);
});

Deno.test("api security: POST /cps/{id}/security validates, applies and refuses to leave REVOKED", async () => {
  await using t = await setup();
  for (
    const bad of [{ status: "ASLEEP", reason: "x" }, { status: "ACTIVE" }, {
      status: "ACTIVE",
      reason: "",
    }, { status: "ACTIVE", reason: "line\nbreak" }]
  ) {
    const res = await t.post("/cps/CP-2/security", bad);
    assert.equal(res.status, 400, JSON.stringify(bad));
    assert.equal((await res.json()).error, "validation_failed");
  }
  const oos = await t.post("/cps/CP-2/security", { status: "OUT_OF_SERVICE", reason: "repair" });
  assert.equal(oos.status, 200);
  assert.deepEqual(
    (({ status, state, stop_reason, reason }) => ({ status, state, stop_reason, reason }))(
      await oos.json(),
    ),
    { status: "OUT_OF_SERVICE", state: "STOPPED", stop_reason: "out_of_service", reason: "repair" },
  );
  const revoked = await t.post("/cps/CP-2/security", { status: "REVOKED", reason: "stolen" });
  assert.equal((await revoked.json()).status, "REVOKED");
  const back = await t.post("/cps/CP-2/security", { status: "ACTIVE", reason: "found" });
  assert.equal(back.status, 409);
  const conflict = await back.json();
  assert.deepEqual(
    [conflict.error, conflict.detail, conflict.detail_code, conflict.detail_params],
    [
      "conflict",
      "CP-2 is REVOKED: only a restore (new credentials) changes its status",
      "refused_revoked_status",
      { id: "CP-2" },
    ],
  );
  const rotate = await t.post("/cps/CP-2/keys/rotate");
  assert.equal(rotate.status, 409);
  assert.match(noticeText(await rotate.json(), "es"), /^CP-2 está revocado \(REVOKED\): no recibe/);
  assert.deepEqual(
    t.records("security.set").map((r) => [r.params.status, r.outcome, r.origin_ip]),
    [
      ["OUT_OF_SERVICE", "ok", "192.0.2.44"],
      ["REVOKED", "ok", "192.0.2.44"],
      ["ACTIVE", "denied", "192.0.2.44"],
    ],
  );

  const list = await (await t.get("/security")).json();
  assert.deepEqual(list.map((v: { cp_id: string; status: string }) => [v.cp_id, v.status]), [
    ["CP-1", "ACTIVE"],
    ["CP-2", "REVOKED"],
  ]);
  assert.equal((await (await t.get("/security/CP-2")).json()).reason, "stolen");
  assert.equal((await t.get("/security/CP-9")).status, 404);
});

Deno.test("api security: admin stop and resume are audited with the caller's IP", async () => {
  await using t = await setup();
  await t.post("/cps/CP-2/stop");
  await t.post("/cps/resume");
  assert.deepEqual(
    [...t.records("cp.stop"), ...t.records("cp.resume")].map((r) => [
      r.action,
      r.params.cpId,
      r.origin_ip,
    ]),
    [["cp.stop", "CP-2", "192.0.2.44"], ["cp.resume", "*", "192.0.2.44"]],
  );
});

Deno.test("api audit: GET /audit is open, newest first, filtered and paged", async () => {
  await using t = await setup();
  await t.post("/cps/CP-2/stop");
  const all = await (await t.get("/audit")).json();
  assert.ok(all.total >= 4);
  assert.deepEqual([all.limit, all.offset], [100, 0]);
  assert.ok(all.items[0].seq > all.items[1].seq, "newest first");
  const logins = await (await t.get("/audit?action=cp.login&limit=1&offset=1")).json();
  assert.deepEqual([logins.total, logins.items.length, logins.items[0].actor], [2, 1, "cp:CP-1"]);
  const admin = await (await t.get("/audit?actor=admin")).json();
  assert.deepEqual(admin.items.map((r: { action: string }) => r.action), ["cp.stop"]);
  const late = await (await t.get("/audit?since=2100-01-01T00:00:00%2B01:00")).json();
  assert.equal(late.total, 0);
  for (const bad of ["limit=0", "limit=1001", "offset=-1", "since=yesterday"]) {
    assert.equal((await t.get(`/audit?${bad}`)).status, 400, bad);
  }
});

Deno.test("api: an admin action's reason is kept in its audit record; a bad one is a 400", async () => {
  await using t = await setup();
  assert.equal((await t.post("/cps/CP-2/stop", { reason: "site maintenance" })).status, 200);
  assert.equal((await t.post("/cps/resume", { reason: "maintenance done" })).status, 200);
  assert.equal((await t.post("/cps/CP-2/stop")).status, 200, "a reason is optional");
  for (const bad of [{ reason: "two\nlines" }, { reason: 7 }, { reason: "" }]) {
    const res = await t.post("/cps/stop", bad);
    assert.equal(res.status, 400, JSON.stringify(bad));
    assert.equal((await res.json()).error, "validation_failed");
  }
  const params = (action: string) => t.records(action).map((r) => r.params);
  assert.deepEqual(params("cp.stop"), [{ cpId: "CP-2", reason: "site maintenance" }, {
    cpId: "CP-2",
  }]);
  assert.deepEqual(params("cp.resume"), [{ cpId: "*", reason: "maintenance done" }]);
  assert.equal((await t.post("/cps/CP-1/keys/rotate", { reason: "routine" })).status, 200);
  assert.equal((await t.post("/cps/CP-2/keys/revoke", { reason: "meter swapped" })).status, 200);
  assert.deepEqual(params("key.rotate").map((p) => p.reason), ["routine"]);
  assert.deepEqual(params("key.revoke").map((p) => p.reason), ["meter swapped"]);
});
