/**
 * `POST /cps/{id}/restore` (central/api_restore.ts, restoring through central/cp_restore.ts) on
 * a bare app over a real runtime, with a
 * stand-in Registry client and local supervisor: the order (Registry, then the core, then the
 * supervisor), the one-time answer, and that no credential reaches the audit or the model.
 */
import assert from "node:assert/strict";
import { OpenAPIHono } from "@hono/zod-openapi";
import type { RegistryClient } from "../registry/client.ts";
import { problemResponder, validationHook } from "../shared/http_api.ts";
import { noticeText } from "../shared/notices.ts";
import { addRestoreRoute } from "./api_restore.ts";
import type { SupervisorCall } from "./api_dashboard.ts";
import type { AuditEntry } from "./audit_chain.ts";
import { DEFAULT_CORE_CONFIG, EMPTY_MODEL } from "./core.ts";
import { at, cpLogin, dispatch, type Timed } from "./core_test_support.ts";
import { CpRestorer } from "./cp_restore.ts";
import { CentralRuntime } from "./runtime.ts";
import { CentralStore } from "./store.ts";

const T0 = Date.parse("2026-12-05T10:00:00.000Z");

const SECRET = "new-credentials-0123456789abcdef";

function setup(
  options: {
    registryFails?: Error;
    supervisor?: SupervisorCall | "none";
    registryGate?: Promise<void>;
  } = {},
) {
  const entries: AuditEntry[] = [];
  const store = CentralStore.open(":memory:");
  const runtime = new CentralRuntime(store, EMPTY_MODEL, DEFAULT_CORE_CONFIG, {
    append: (entry) => entries.push(entry),
    offer: () => {},
    list: () => ({ items: [], total: 0 }),
  });
  const t = { store, runtime, send: (step: Timed) => dispatch(runtime, step) };
  t.send(cpLogin("CP-1", 1, T0));
  const order: string[] = [];
  const asked = Promise.withResolvers<void>();
  const registry = {
    resetCredentials: (cpId: string) => {
      asked.resolve();
      order.push(`registry ${cpId} ${t.runtime.model.cps.get(cpId)?.security}`);
      if (options.registryFails) return Promise.reject(options.registryFails);
      const answer = { cp_id: cpId, credentials: SECRET, registered_at: "2026-12-05" };
      return (options.registryGate ?? Promise.resolve()).then(() => answer);
    },
  } as unknown as RegistryClient;
  const delivered: unknown[] = [];
  const supervisor: SupervisorCall = (method, path, body) => {
    order.push(`supervisor ${method} ${path} ${t.runtime.model.cps.get("CP-1")?.security}`);
    delivered.push(body);
    return Promise.resolve(new Response("{}", { status: 200 }));
  };
  const now = () => new Date(T0 + 5000);
  const app = new OpenAPIHono({ defaultHook: validationHook(problemResponder(now)) });
  const restorer = new CpRestorer({
    runtime: t.runtime,
    now,
    registry,
    supervisor: options.supervisor === "none" ? undefined : options.supervisor ?? supervisor,
  });
  addRestoreRoute(app, { restorer, now });
  const restore = (id: string, body?: unknown) =>
    app.request(`/cps/${id}/restore`, {
      method: "POST",
      ...(body === undefined
        ? {}
        : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
    });
  const records = () => entries.filter((e) => e.action === "security.restore");
  return { t, entries, restore, order, delivered, records, registryAsked: asked.promise };
}

const ban = (t: { send: (step: Timed) => void }) =>
  t.send(at(T0 + 1, { type: "set_security", cpId: "CP-1", status: "REVOKED", reason: "stolen" }));

Deno.test("restore: new credentials from the Registry, ACTIVE before the local CP gets them, shown once", async () => {
  const { t, entries, restore, order, delivered, records } = setup();
  try {
    ban(t);
    const res = await restore("CP-1", { reason: "meter replaced" });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("cache-control"), "no-store");
    const body = await res.json();
    assert.deepEqual(
      [body.status, body.credentials, body.delivered, body.stop_reason],
      ["ACTIVE", SECRET, true, null],
    );
    assert.deepEqual(order, [
      "registry CP-1 REVOKED",
      "supervisor POST /cps/CP-1/credentials ACTIVE",
    ]);
    assert.deepEqual(delivered, [{ credentials: SECRET, registered_at: "2026-12-05" }]);
    const [record] = records();
    assert.deepEqual([record.outcome, record.params.reason, record.params.previous], [
      "ok",
      "meter replaced",
      "REVOKED",
    ]);
    const everything = JSON.stringify(entries);
    assert.ok(!everything.includes(SECRET), "no credential in the audit");
    assert.ok(!JSON.stringify([...t.runtime.model.cps.values()]).includes(SECRET));
  } finally {
    t.store.close();
  }
});

Deno.test("restore: without a supervisor the answer says to copy them", async () => {
  const { t, restore } = setup({ supervisor: "none" });
  try {
    ban(t);
    const body = await (await restore("CP-1")).json();
    assert.equal(body.delivered, false);
    assert.match(body.delivery, /copy them into CP-1\.credentials/);
    assert.deepEqual([body.delivery_code, body.delivery_params], [
      "restore_not_local",
      { id: "CP-1" },
    ]);
    const delivery = {
      detail: body.delivery,
      detail_code: body.delivery_code,
      detail_params: body.delivery_params,
    };
    assert.match(noticeText(delivery, "es"), /^no es un punto local: cópielas/);
  } finally {
    t.store.close();
  }
});

Deno.test("restore: 409 for a CP not REVOKED, 404 unknown; a Registry failure changes nothing", async () => {
  const down = Object.assign(new Error("connection refused"), {
    name: "RegistryUnavailableError",
    status: 0,
    code: "unavailable",
    detail: "connection refused",
  });
  const { t, restore, order, records } = setup({ registryFails: down });
  try {
    const active = await restore("CP-1");
    assert.equal(active.status, 409);
    const refused = await active.json();
    assert.deepEqual(
      [refused.detail, refused.detail_code, refused.detail_params],
      ["CP-1 is ACTIVE, not REVOKED", "refused_not_revoked", { id: "CP-1", security: "ACTIVE" }],
    );
    const unknown = await restore("CP-404");
    assert.equal(unknown.status, 404);
    const missing = await unknown.json();
    assert.deepEqual([missing.detail, missing.detail_code], ["no CP CP-404", "no_cp"]);
    assert.equal(noticeText(missing, "es"), "no existe el punto CP-404");
    assert.deepEqual(order, [], "the Registry was not asked");

    ban(t);
    const failed = await restore("CP-1");
    assert.equal(failed.status, 503);
    assert.equal(failed.headers.get("retry-after"), "5");
    const why = await failed.json();
    assert.equal(why.detail, "the Registry cannot be reached: connection refused");
    assert.equal(
      noticeText(why, "es"),
      "no se puede contactar con el Registry: connection refused",
    );
    assert.equal(t.runtime.model.cps.get("CP-1")?.security, "REVOKED", "unchanged");
    assert.deepEqual(records().map((r) => r.outcome), ["denied", "failed"]);
  } finally {
    t.store.close();
  }
});

Deno.test("restore: a second restore of the same CP while one is under way is refused (409 busy)", async () => {
  const gate = Promise.withResolvers<void>();
  const { t, restore, order, registryAsked } = setup({ registryGate: gate.promise });
  try {
    ban(t);
    const first = restore("CP-1");
    await registryAsked; // the first is at the Registry
    const second = await restore("CP-1");
    assert.equal(second.status, 409);
    assert.equal((await second.json()).error, "busy");
    gate.resolve();
    assert.equal((await first).status, 200);
    assert.equal(order.filter((o) => o.startsWith("registry")).length, 1, "asked once");
  } finally {
    t.store.close();
  }
});
