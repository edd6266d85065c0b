/**
 * The panel's `restore <id>` (central/panel_restore.ts) over a real runtime and the restore REST
 * uses (central/cp_restore.ts), with a stand-in Registry client: a reason is required, the
 * restore is audited as the REST one is (`security.restore` with the reason), credentials the CP
 * could not be given are shown once and never audited, and refusals say why in the panel's
 * language.
 */
import assert from "node:assert/strict";
import type { RegistryClient } from "../registry/client.ts";
import type { AuditEntry } from "./audit_chain.ts";
import { CpRestorer } from "./cp_restore.ts";
import { RestorePrompt } from "./panel_restore.ts";
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
  const prompt = new RestorePrompt(restorer, lang);
  const ban = () =>
    runtime.dispatch(
      { type: "set_security", cpId: "CP-1", status: "REVOKED", reason: "stolen" },
      T0 + 1,
    );
  const records = () => entries.filter((e) => e.action === "security.restore");
  return Object.assign(
    { runtime, entries, prompt, ban, records, asked },
    { [Symbol.dispose]: () => central[Symbol.dispose]() },
  );
}

Deno.test("panel restore: asks for a reason, restores with it, audited like REST, credentials shown once", async () => {
  using t = setup();
  t.ban();
  t.prompt.open("CP-1");
  assert.match(t.prompt.prompt ?? "", /^reason for restoring CP-1 /);
  const empty = await t.prompt.submit("   ", () => assert.fail("no restore without a reason"));
  assert.equal(empty.feedback, "a restore needs a reason (Esc cancels)");
  assert.notEqual(t.prompt.prompt, null, "still asking");

  const meanwhile: string[] = [];
  const said = await t.prompt.submit(" meter replaced ", (text) => meanwhile.push(text));
  assert.deepEqual(meanwhile, ["restoring CP-1…"]);
  assert.equal(t.prompt.prompt, null, "no longer asking");
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
  t.prompt.open("CP-1");
  assert.match(t.prompt.prompt ?? "", /^motivo para restaurar CP-1 /);
  const refused = await t.prompt.submit("por si acaso", () => {});
  assert.equal(
    refused.feedback,
    "restaurar CP-1 falló: CP-1 no está revocado (REVOKED): su estado de seguridad es ACTIVE",
  );
  assert.equal(refused.shownOnce, null);
  assert.deepEqual(t.asked, [], "the Registry was not asked");
  assert.deepEqual(t.records().map((r) => r.outcome), ["denied"]);

  t.ban();
  t.prompt.open("CP-1");
  const said = await t.prompt.submit("contador cambiado", () => {});
  assert.match(said.feedback, /^restaurar CP-1: seguridad ACTIVE; no es un punto local: cópielas/);
  assert.match(said.shownOnce ?? "", /^credenciales nuevas de CP-1, mostradas solo esta vez: /);
});

Deno.test("panel restore: Esc cancels with nothing done; a Registry failure says why", async () => {
  const down = Object.assign(new Error("connection refused"), {
    name: "RegistryUnavailableError",
    detail: "connection refused",
  });
  using t = setup("en", down);
  t.ban();
  t.prompt.open("CP-1");
  assert.equal(t.prompt.cancel(), "restore CP-1 cancelled");
  assert.equal(t.prompt.prompt, null);
  assert.equal(t.prompt.cancel(), "", "nothing to cancel");
  assert.deepEqual(t.records(), []);

  t.prompt.open("CP-1");
  const said = await t.prompt.submit("meter replaced", () => {});
  assert.equal(said.feedback, "restore CP-1 failed: connection refused");
  assert.equal(t.runtime.model.cps.get("CP-1")?.security, "REVOKED", "unchanged");
  assert.deepEqual(t.records().map((r) => r.outcome), ["failed"]);
});
