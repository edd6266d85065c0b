import assert from "node:assert/strict";
import { cpList, denyReason, type Effect, EMPTY_MODEL, type RegistryChangeInput } from "./core.ts";
import {
  at,
  chargeInput,
  cpOf as cp,
  loginInput,
  published,
  run,
  supplyInput as supply,
  T0,
  type Timed,
} from "./core_test_support.ts";
import { CentralStore } from "./store.ts";

const REGISTERED_AT = "2025-03-01T09:00:00.000Z";
const AGAIN_AT = "2025-03-01T11:00:00.000Z";

const login = (connection = 1, now = T0, registeredAt = REGISTERED_AT): Timed =>
  loginInput(connection, { registeredAt }, now);
const charge = (requestId: string, now = T0 + 1000): Timed => chargeInput(requestId, {}, now);
const change = (
  action: RegistryChangeInput["action"],
  seq: number,
  registeredAt: string | null = REGISTERED_AT,
  now = T0 + 5000,
  cpId = "CP-1",
): Timed => at(now, { type: "registry_change", seq, cpId, action, registeredAt });

const of = <T extends Effect["type"]>(effects: readonly Effect[], type: T) =>
  effects.filter((e): e is Extract<Effect, { type: T }> => e.type === type);

/** CP-1 logged in (key version 1), supplying S-r1 for D-1 with 2 kWh so far. */
const supplying = () => run(EMPTY_MODEL, login(), charge("r1"), supply(2, T0 + 3000)).model;

Deno.test("core registry: a deregistration logs the CP out, revokes its keys and tickets its session", () => {
  const { model, effects } = run(supplying(), change("deregistered", 7));
  const after = cp(model);
  assert.equal(after.connection, null);
  assert.equal(after.keyVersion, null);
  assert.equal(after.status.state, "DISCONNECTED");
  assert.equal(after.status.sessionId, null);
  assert.equal(after.securityInfo.deregisteredAt, new Date(T0 + 5000).toISOString());
  assert.equal(model.sessions.size, 0);
  assert.deepEqual(of(effects, "close_connection"), [
    { type: "close_connection", cpId: "CP-1", connection: 1, logout: "deregistered" },
  ]);
  assert.equal(of(effects, "revoke_keys").length, 1);
  const [ticket] = published(effects);
  assert.equal(ticket.type, "TICKET");
  assert.equal(ticket.type === "TICKET" && ticket.endReason, "deregistered");
  assert.equal(ticket.type === "TICKET" && ticket.kwh, 2);
  const [audit] = of(effects, "audit").filter((a) => a.entry.action === "cp.deregistered");
  assert.equal(audit.entry.actor, "registry");
  assert.equal(audit.entry.params.sessionId, "S-r1");
  assert.deepEqual(of(effects, "save_registry_seq"), [{ type: "save_registry_seq", seq: 7 }]);
});

Deno.test("core registry: a deregistered CP is denied with its own reason and leaves the drivers' list", () => {
  const { model } = run(supplying(), change("deregistered", 1));
  assert.equal(denyReason(cp(model)), "deregistered");
  assert.deepEqual(cpList(model), []);
  const { effects } = run(model, charge("r2", T0 + 6000));
  const [denied] = published(effects);
  assert.equal(denied.type, "DENIED");
  assert.equal(denied.type === "DENIED" && denied.reason, "deregistered");
});

Deno.test("core registry: a deregistration applied twice (a feed replay) changes nothing more", () => {
  const once = run(supplying(), change("deregistered", 3)).model;
  const { model, effects } = run(once, change("deregistered", 3, REGISTERED_AT, T0 + 9000));
  assert.equal(model.cps, once.cps);
  assert.deepEqual(effects, [{ type: "save_registry_seq", seq: 3 }]);
});

Deno.test("core registry: a re-registration clears the mark and a login with it charges again", () => {
  let model = run(supplying(), change("deregistered", 1)).model;
  model = run(model, change("registered", 2, AGAIN_AT, T0 + 6000)).model;
  assert.equal(cp(model).securityInfo.deregisteredAt, null);
  assert.equal(cp(model).securityInfo.registeredAt, AGAIN_AT);
  assert.equal(denyReason(cp(model)), "disconnected");
  model = run(model, login(2, T0 + 7000, AGAIN_AT)).model;
  assert.equal(cp(model).status.state, "ACTIVATED");
  assert.equal(cp(model).keyVersion, 2);
  const { effects } = run(model, charge("r3", T0 + 8000));
  assert.equal(published(effects)[0].type, "AUTHORIZED");
});

Deno.test("core registry: a login after a deregistration Central has not seen clears nothing it should not", () => {
  // Central was down: the CP was deregistered, registered again, and logged in with the new
  // registration before the feed caught up. The old deregistration must not log it out.
  const model = run(EMPTY_MODEL, login(1, T0, AGAIN_AT)).model;
  const caughtUp = run(
    model,
    change("registered", 1, REGISTERED_AT),
    change("deregistered", 2, REGISTERED_AT),
    change("registered", 3, AGAIN_AT),
  );
  assert.equal(cp(caughtUp.model).connection, 1);
  assert.equal(cp(caughtUp.model).keyVersion, 1);
  assert.equal(cp(caughtUp.model).securityInfo.deregisteredAt, null);
  assert.equal(of(caughtUp.effects, "close_connection").length, 0);
  assert.deepEqual(of(caughtUp.effects, "save_registry_seq").map((e) => e.seq), [1, 2, 3]);
});

Deno.test("core registry: changes of CPs Central never saw, and updates, only advance the feed", () => {
  const model = supplying();
  for (
    const input of [
      change("deregistered", 4, REGISTERED_AT, T0, "CP-X"),
      change("registered", 5, AGAIN_AT, T0, "CP-X"),
      change("updated", 6),
    ]
  ) {
    const result = run(model, input);
    assert.equal(result.model.cps, model.cps);
    assert.equal(result.model.sessions, model.sessions);
    assert.deepEqual(result.effects.map((e) => e.type), ["save_registry_seq"]);
  }
});

Deno.test("core registry: a login clears the deregistered mark (the Registry confirmed the CP)", () => {
  const gone = run(supplying(), change("deregistered", 1)).model;
  const back = run(gone, login(2, T0 + 9000, AGAIN_AT)).model;
  assert.equal(cp(back).securityInfo.deregisteredAt, null);
  assert.equal(cp(back).securityInfo.registeredAt, AGAIN_AT);
});

Deno.test("core registry: the deregistration, its registration and the feed position survive a restart", () => {
  const store = CentralStore.open(":memory:");
  try {
    const first = run(EMPTY_MODEL, login());
    store.commit(first.effects);
    const gone = run(first.model, change("deregistered", 12));
    store.commit(gone.effects);
    assert.equal(store.registrySeq(), 12);
    const recovered = cp(store.recover(new Date(T0 + 10_000)).model);
    assert.equal(recovered.securityInfo.deregisteredAt, new Date(T0 + 5000).toISOString());
    assert.equal(recovered.securityInfo.registeredAt, REGISTERED_AT);
    assert.equal(recovered.keyVersion, null);
  } finally {
    store.close();
  }
});
