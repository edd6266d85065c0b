import assert from "node:assert/strict";
import { type Cp, type Effect, EMPTY_MODEL, loginRefusal, securityRefusal } from "./core.ts";
import {
  at,
  chargeInput,
  commands,
  cpOf as cp,
  drive,
  loginInput,
  published,
  run,
  supplyInput as supply,
  T0,
  telemetryInput,
  type Timed,
} from "./core_test_support.ts";
import { CentralStore } from "./store.ts";

const login = (connection = 1, now = T0): Timed =>
  loginInput(connection, { originIp: "192.0.2.7" }, now);
const charge = (requestId: string, now = T0 + 1000): Timed => chargeInput(requestId, {}, now);
const revokeKeys = (rotate: boolean, now: number): Timed =>
  at(now, { type: "revoke_keys", cpId: "CP-1", rotate, originIp: "198.51.100.1" });
const rotate = (now = T0 + 5000): Timed => revokeKeys(true, now);
const revoke = (now = T0 + 5000): Timed => revokeKeys(false, now);
const security = (status: Cp["security"], now = T0 + 5000): Timed =>
  at(now, {
    type: "set_security",
    cpId: "CP-1",
    status,
    reason: "inspection",
    originIp: "198.51.100.1",
  });

const audits = (effects: readonly Effect[]) =>
  effects.flatMap((e) => e.type === "audit" ? [e] : []);

/** CP-1 logged in (key version 1), supplying S-r1 for D-1 with 2 kWh so far. */
const supplying = () => run(EMPTY_MODEL, login(), charge("r1"), supply(2, T0 + 3000)).model;

Deno.test("security: a rotation logs the monitor out to log in again, revokes its keys and tickets the session", () => {
  const { model, effects } = run(supplying(), rotate());
  assert.deepEqual(effects.find((e) => e.type === "revoke_keys"), {
    type: "revoke_keys",
    cpId: "CP-1",
    at: new Date(T0 + 5000).toISOString(),
  });
  assert.ok(
    effects.some((e) =>
      e.type === "close_connection" && e.connection === 1 && e.logout === "key_rotated"
    ),
  );
  assert.equal(cp(model).status.state, "DISCONNECTED");
  assert.equal(cp(model).keyVersion, null);
  assert.equal(model.sessions.size, 0);
  const ticket = published(effects).find((u) => u.type === "TICKET");
  assert.ok(ticket?.type === "TICKET");
  assert.deepEqual([ticket.kwh, ticket.eur, ticket.endReason], [2, 1, "key_lost"]);
  const record = audits(effects).find((a) => a.entry.action === "key.rotate");
  assert.deepEqual(record?.entry, {
    actor: "admin",
    action: "key.rotate",
    outcome: "ok",
    params: { cpId: "CP-1", keyVersion: 1, sessionId: "S-r1" },
    originIp: "198.51.100.1",
  });

  // The monitor logs in again at once with a new version and the CP is available.
  const back = run(model, login(2, T0 + 5100));
  assert.equal(cp(back.model).status.state, "ACTIVATED");
  assert.equal(cp(back.model).keyVersion, 2);
});

Deno.test("security: a revocation logs out with key_revoked and records when", () => {
  const { model, effects } = run(supplying(), revoke());
  assert.ok(effects.some((e) => e.type === "close_connection" && e.logout === "key_revoked"));
  assert.equal(cp(model).status.state, "DISCONNECTED");
  assert.equal(cp(model).securityInfo.revokedAt, new Date(T0 + 5000).toISOString());
  assert.equal(published(effects).find((u) => u.type === "TICKET")?.type, "TICKET");
  assert.equal(audits(effects).find((a) => a.entry.action === "key.revoke")?.entry.outcome, "ok");
  // Central answers the driver of a CP without a key: disconnected until it logs in again.
  const denied = published(run(model, charge("r2", T0 + 6000)).effects)[0];
  assert.ok(denied.type === "DENIED" && denied.reason === "disconnected");
});

Deno.test("security: a revocation marks the CP key revoked until its next login; a rotation never", () => {
  const revoked = run(supplying(), revoke()).model;
  assert.equal(cp(revoked).securityInfo.keyRevokedAt, new Date(T0 + 5000).toISOString());
  const back = run(revoked, login(2, T0 + 15_000)).model;
  assert.equal(cp(back).securityInfo.keyRevokedAt, null, "the new login clears the mark");
  assert.equal(cp(back).status.state, "ACTIVATED");

  assert.equal(cp(run(supplying(), rotate()).model).securityInfo.keyRevokedAt, null);
});

Deno.test("security: OUT_OF_SERVICE may log in but not charge; ACTIVE lifts the hold", () => {
  const { model, effects } = run(supplying(), security("OUT_OF_SERVICE"));
  assert.equal(cp(model).security, "OUT_OF_SERVICE");
  assert.deepEqual(cp(model).status, {
    state: "STOPPED",
    stopReason: "out_of_service",
    sessionId: "S-r1",
  });
  assert.deepEqual(commands(effects), [{
    v: 1,
    type: "STOP",
    reason: "out_of_service",
    ts: new Date(T0 + 5000).toISOString(),
  }]);
  assert.equal(model.sessions.get("S-r1")?.pendingEnd?.reason, "status_lost");
  assert.equal(loginRefusal(model, "CP-1", "REGISTERED"), null, "login still works");

  // The engine's SUPPLY_END (status_lost) closes the session; a new request is denied.
  const ended = run(
    model,
    telemetryInput(
      { type: "SUPPLY_END", sessionId: "S-r1", kwh: 2.2, eur: 1.1, endReason: "status_lost" },
      T0 + 6000,
    ),
    charge("r2", T0 + 7000),
  );
  const [ticket, denied] = published(ended.effects);
  assert.ok(ticket.type === "TICKET" && ticket.endReason === "status_lost");
  assert.ok(denied.type === "DENIED" && denied.reason === "out_of_service");

  const active = run(ended.model, security("ACTIVE", T0 + 8000));
  assert.equal(cp(active.model).status.state, "ACTIVATED");
  assert.deepEqual(commands(active.effects).map((c) => c.type), ["RESUME"]);
  assert.equal(cp(active.model).securityInfo.reason, "inspection");
});

Deno.test("security: REVOKED logs out, tickets at once and refuses every later change but a restore", () => {
  const { model, effects } = run(supplying(), security("REVOKED"));
  assert.ok(effects.some((e) => e.type === "close_connection" && e.logout === "revoked"));
  assert.ok(effects.some((e) => e.type === "revoke_keys"));
  assert.deepEqual(cp(model).status, {
    state: "DISCONNECTED",
    stopReason: "revoked",
    sessionId: null,
  });
  const ticket = published(effects).find((u) => u.type === "TICKET");
  assert.ok(ticket?.type === "TICKET" && ticket.endReason === "status_lost");
  const refusal = loginRefusal(model, "CP-1", "REGISTERED");
  assert.deepEqual([refusal?.reason, refusal?.retryable], ["revoked", false]);
  assert.equal(refusal?.detail_code, "login_revoked");

  assert.match(
    securityRefusal(cp(model), { type: "set_security", status: "ACTIVE" }) ?? "",
    /only a restore/,
  );
  assert.match(
    securityRefusal(cp(model), { type: "revoke_keys", rotate: true }) ?? "",
    /no new key/,
  );
  assert.equal(securityRefusal(cp(model), { type: "revoke_keys", rotate: false }), null);
  const refused = run(model, security("ACTIVE", T0 + 6000), rotate(T0 + 6000));
  assert.equal(cp(refused.model).security, "REVOKED");
  assert.deepEqual(
    audits(refused.effects).map((a) => [a.entry.action, a.entry.outcome]),
    [["security.set", "denied"], ["key.rotate", "denied"]],
  );
  assert.ok(!refused.effects.some((e) => e.type === "save_cp" || e.type === "revoke_keys"));
});

const restore = (now = T0 + 9000): Timed =>
  at(now, { type: "restore", cpId: "CP-1", reason: "meter replaced", originIp: "198.51.100.1" });

Deno.test("security: a restore brings a REVOKED CP back to ACTIVE; its next login is accepted", () => {
  const banned = run(supplying(), security("REVOKED")).model;
  const { model, effects } = run(banned, restore());
  assert.equal(cp(model).security, "ACTIVE");
  assert.deepEqual(cp(model).status, {
    state: "DISCONNECTED",
    stopReason: null,
    sessionId: null,
  }, "the revoked hold lifts; it shows DISCONNECTED until it logs in");
  assert.equal(cp(model).securityInfo.reason, "meter replaced");
  assert.equal(loginRefusal(model, "CP-1", "REGISTERED"), null);
  const [record] = audits(effects).filter((a) => a.entry.action === "security.restore");
  assert.deepEqual(record.entry, {
    actor: "admin",
    action: "security.restore",
    outcome: "ok",
    params: { cpId: "CP-1", previous: "REVOKED", reason: "meter replaced" },
    originIp: "198.51.100.1",
  });
  const back = run(model, login(2, T0 + 10_000)).model;
  assert.deepEqual([cp(back).status.state, cp(back).keyVersion], ["ACTIVATED", 2]);
});

Deno.test("security: only a REVOKED CP is restored; others are refused and audited as denied", () => {
  const active = supplying();
  assert.match(securityRefusal(cp(active), { type: "restore" }) ?? "", /ACTIVE, not REVOKED/);
  const { model, effects } = run(active, restore());
  assert.deepEqual(model, active, "nothing changed");
  assert.deepEqual(
    audits(effects).map((a) => [a.entry.action, a.entry.outcome, a.entry.params.detail]),
    [["security.restore", "denied", "CP-1 is ACTIVE, not REVOKED"]],
  );
});

Deno.test("security: refused logins count for a known CP only and are audited as a flood", () => {
  const failed = (cpId: string): Timed =>
    at(T0 + 100, { type: "login_failed", cpId, reason: "bad_token", originIp: "203.0.113.9" });
  const { model, effects } = run(run(EMPTY_MODEL, login()).model, failed("CP-1"), failed("CP-X"));
  assert.equal(cp(model).securityInfo.failedLogins, 1);
  assert.ok(!model.cps.has("CP-X"), "an id anyone can make up creates nothing");
  assert.deepEqual(audits(effects).map((a) => [a.entry.actor, a.entry.outcome, a.flood]), [
    ["cp:CP-1", "rejected", true],
    ["cp:CP-X", "rejected", true],
  ]);
  assert.equal(cp(model).securityInfo.lastLoginAt, new Date(T0).toISOString());
});

Deno.test("audit: a session's life is recorded from the login to the ticket, without secrets", () => {
  const { effects } = run(
    EMPTY_MODEL,
    login(),
    charge("r1"),
    charge("r2"),
    supply(2, T0 + 3000),
    at(T0 + 4000, { type: "health", cpId: "CP-1", connection: 1, engine: "KO" }),
  );
  const records = audits(effects).map((a) => a.entry);
  assert.deepEqual(records.map((r) => [r.actor, r.action, r.outcome]), [
    ["cp:CP-1", "cp.login", "ok"],
    ["driver:D-1", "charge.authorized", "ok"],
    ["driver:D-1", "charge.denied", "denied"],
    ["cp:CP-1", "cp.fault", "failed"],
    ["central", "session.ticket", "ok"],
  ]);
  assert.equal(records[0].originIp, "192.0.2.7");
  assert.ok(!JSON.stringify(records).includes("wrapped-1"), "no wrapped key in the audit");
});

Deno.test("audit: a driver's self-reported address is its records' origin, marked self_reported", () => {
  const reported = (requestId: string, cpId = "CP-1"): Timed =>
    chargeInput(requestId, { cpId, originIp: "198.51.100.23" });
  const { effects } = run(
    EMPTY_MODEL,
    login(),
    reported("r1"),
    reported("r2"),
    charge("r3"),
    reported("r4", "CP-404"),
  );
  const records = audits(effects).map((a) => a.entry).filter((r) => r.actor === "driver:D-1");
  assert.deepEqual(records.map((r) => [r.action, r.originIp, r.params.origin]), [
    ["charge.authorized", "198.51.100.23", "self_reported"],
    ["charge.denied", "198.51.100.23", "self_reported"],
    ["charge.denied", undefined, undefined],
    ["charge.denied", "198.51.100.23", "self_reported"],
  ]);
  const denied = published(effects).filter((m) => m.type === "DENIED");
  assert.ok(denied.every((m) => !("originIp" in m)), "the answer does not carry it back");
});

Deno.test("store: the security status and facts survive a restart; revoked keys are not loaded", () => {
  const store = CentralStore.open(":memory:");
  const model = drive(store, EMPTY_MODEL, login(), security("OUT_OF_SERVICE"), revoke(T0 + 6000));
  const recovered = store.recover(new Date(T0 + 7000));
  const back = recovered.model.cps.get("CP-1");
  assert.equal(back?.security, "OUT_OF_SERVICE");
  assert.deepEqual(back?.securityInfo, cp(model).securityInfo);
  assert.equal(back?.securityInfo.keyRevokedAt, new Date(T0 + 6000).toISOString(), "the mark");
  assert.equal(back?.keyVersion, null);
  assert.deepEqual(recovered.keys, [], "the revoked key never reaches the keyring again");
  store.close();
});

Deno.test("security: a login tells the CP's charger protocol; a later login without drops it", () => {
  const ocpp =
    run(EMPTY_MODEL, loginInput(1, { originIp: "192.0.2.7", protocol: "ocpp1.6" })).model;
  assert.equal(cp(ocpp).protocol, "ocpp1.6");
  const own = run(ocpp, login(2, T0 + 100)).model;
  assert.equal("protocol" in cp(own), false);
});
