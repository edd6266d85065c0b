/**
 * The panel's `restore <id>` (central/panel_restore.ts) over a real runtime and the restore REST
 * uses (central/cp_restore.ts), with a stand-in Registry client: the restore is audited as the REST one is (`security.restore` with the reason), credentials the CP
 * could not be given are shown once and never audited, and refusals say why in the panel's
 * language. Asking for the reason (none: asked again; Esc cancels) is the keyboard's, in
 * central/panel_keys_test.ts.
 */
import assert from "node:assert/strict";
import type { RegistryClient } from "../registry/client.ts";
import type { AuditEntry } from "./audit_chain.ts";
import { CpRestorer } from "./cp_restore.ts";
import { restoreCp, restorePrompt } from "./panel_restore.ts";
import { auditInto, operatorRuntime, T0 } from "./operator_test_support.ts";

const SECRET = "panel-credentials-0123456789abcdef";

function setup(lang: "en" | "es" = "en", registryFails?: Error) {
  const entries: AuditEntry[] = [];
  const central = operatorRuntime(auditInto(entries));
  const { runtime } = central;
  central.login("CP-1", T0);
  const asked: string[] = [];
  const registry = {
    resetCredentials: (cpId: string) => {
      asked.push(cpId);
      if (registryFails) return Promise.reject(registryFails);
      return Promise.resolve({ cp_id: cpId, credentials: SECRET, registered_at: "2026-12-05" });
    },
  } as unknown as RegistryClient;
  const restorer = new CpRestorer({ runtime, now: () => new Date(T0 + 5000), registry });
  const restore = (reason: string) => restoreCp(restorer, "CP-1", reason, lang);
  const ban = () =>
    runtime.dispatch(
      { type: "set_security", cpId: "CP-1", status: "REVOKED", reason: "stolen" },
      T0 + 1,
    );
  const records = () => entries.filter((e) => e.action === "security.restore");
  return Object.assign(
    { runtime, entries, restore, ban, records, asked },
    { [Symbol.dispose]: () => central[Symbol.dispose]() },
  );
}

Deno.test("panel restore: restores with the reason typed, audited like REST, credentials shown once", async () => {
  using t = setup();
  t.ban();
  assert.match(restorePrompt("CP-1", "en"), /^reason for restoring CP-1 /);
  const said = await t.restore("meter replaced");
  assert.equal(t.runtime.model.cps.get("CP-1")?.security, "ACTIVE");
  assert.match(said.feedback, /^restore CP-1: security ACTIVE; not a local CP: copy them into/);
  assert.equal(said.shownOnce, `new credentials of CP-1, shown this once: ${SECRET}`);
  const [record] = t.records();
  assert.deepEqual(
    [record.actor, record.outcome, record.params.reason, record.params.previous],
    ["admin", "ok", "meter replaced", "REVOKED"],
  );
  assert.ok(!JSON.stringify(t.entries).includes(SECRET), "no credential in the audit");
});

Deno.test("panel restore: in Spanish; a CP not REVOKED is refused and the refusal audited", async () => {
  using t = setup("es");
  assert.match(restorePrompt("CP-1", "es"), /^motivo para restaurar CP-1 /);
  const refused = await t.restore("por si acaso");
  assert.equal(
    refused.feedback,
    "restaurar CP-1 falló: CP-1 no está revocado (REVOKED): su estado de seguridad es ACTIVE",
  );
  assert.equal(refused.shownOnce, null);
  assert.deepEqual(t.asked, [], "the Registry was not asked");
  assert.deepEqual(t.records().map((r) => r.outcome), ["denied"]);

  t.ban();
  const said = await t.restore("contador cambiado");
  assert.match(said.feedback, /^restaurar CP-1: seguridad ACTIVE; no es un punto local: cópielas/);
  assert.match(said.shownOnce ?? "", /^credenciales nuevas de CP-1, mostradas solo esta vez: /);
});

Deno.test("panel restore: a Registry failure says why and changes nothing", async () => {
  const down = Object.assign(new Error("connection refused"), {
    name: "RegistryUnavailableError",
    detail: "connection refused",
  });
  using t = setup("en", down);
  t.ban();
  const said = await t.restore("meter replaced");
  assert.equal(said.feedback, "restore CP-1 failed: connection refused");
  assert.equal(t.runtime.model.cps.get("CP-1")?.security, "REVOKED", "unchanged");
  assert.deepEqual(t.records().map((r) => r.outcome), ["failed"]);
});
