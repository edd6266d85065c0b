/**
 * The restore both REST and the panel use (central/cp_restore.ts), over a real runtime with a
 * stand-in Registry client and local supervisor: one at a time per CP whoever asks, and where the
 * credentials went, in English and as a code.
 */
import assert from "node:assert/strict";
import type { RegistryClient } from "../registry/client.ts";
import { noticeText } from "../shared/notices.ts";
import type { SupervisorCall } from "./api_dashboard.ts";
import { CpRestorer, type Restored } from "./cp_restore.ts";
import { auditInto, operatorRuntime, T0 } from "./operator_test_support.ts";

function setup(supervisor?: SupervisorCall, registryGate?: Promise<void>) {
  const central = operatorRuntime(auditInto());
  const { runtime } = central;
  central.login("CP-1", T0);
  runtime.dispatch({ type: "set_security", cpId: "CP-1", status: "REVOKED", reason: "x" }, T0);
  const asked = Promise.withResolvers<void>();
  const registry = {
    resetCredentials: async (cpId: string) => {
      asked.resolve();
      await registryGate;
      return { cp_id: cpId, credentials: "secret-0123456789", registered_at: "2026-12-05" };
    },
  } as unknown as RegistryClient;
  const restorer = new CpRestorer({ runtime, now: () => new Date(T0 + 1), registry, supervisor });
  return Object.assign({ restorer, runtime, asked: asked.promise }, {
    [Symbol.dispose]: () => central[Symbol.dispose](),
  });
}

Deno.test("cp restore: a second restore of a CP while one is under way is busy, whoever asks", async () => {
  const gate = Promise.withResolvers<void>();
  using t = setup(undefined, gate.promise);
  const first = t.restorer.restore("CP-1", { reason: "from REST", originIp: "127.0.0.1" });
  await t.asked;
  const second = await t.restorer.restore("CP-1", { reason: "from the panel" });
  assert.equal(second.ok, false);
  assert.deepEqual(
    "error" in second ? [second.status, second.error, second.detail] : second,
    [409, "busy", {
      detail: "a restore of CP-1 is under way",
      detail_code: "restore_busy",
      detail_params: { id: "CP-1" },
    }],
  );
  gate.resolve();
  assert.equal((await first).ok, true);
  assert.equal(t.runtime.model.cps.get("CP-1")?.security, "ACTIVE");
});

Deno.test("cp restore: where the credentials went, when the supervisor refuses or does not answer", async () => {
  const refusing: SupervisorCall = () => Promise.resolve(new Response("no", { status: 500 }));
  {
    using t = setup(refusing);
    const done = await t.restorer.restore("CP-1") as Restored;
    assert.deepEqual([done.delivered, done.delivery.detail_code], [
      false,
      "restore_supervisor_refused",
    ]);
    assert.match(done.delivery.detail, /^the local supervisor answered 500: copy them into CP-1/);
    assert.match(noticeText(done.delivery, "es"), /^el supervisor local respondió 500: cópielas/);
  }
  const silent: SupervisorCall = () => Promise.reject(new Error("connection reset"));
  {
    using t = setup(silent);
    const done = await t.restorer.restore("CP-1") as Restored;
    assert.equal(done.delivery.detail_code, "restore_supervisor_silent");
    assert.match(done.delivery.detail, /did not answer \(connection reset\)/);
  }
});
