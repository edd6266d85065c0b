/**
 * The security lifecycle across processes (ARCHITECTURE §Security model), with a real broker, a real
 * Registry over TLS, a real Central and a stand-in CP on the framed protocol: key rotation and
 * revocation during a session, OUT_OF_SERVICE and REVOKED, replayed and forged telemetry, the
 * audit trail (SQLite, file, REST, `audit.events`) and that no secret leaks into any of them.
 */
// First: registry/schemas.ts needs @hono/zod-openapi loaded before shared/messages.ts.
import {
  authenticateBound,
  type BoundToken,
  logInMonitor,
  MonitorStub,
  startTestCentral,
  type TestRegistry,
  waitFor,
  withTestRegistry,
} from "../central/test_support.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { type AuditRecord, verifyAuditLines } from "../central/audit_chain.ts";
import type { RunningCentral } from "../central/central.ts";
import { exportCpKey } from "../shared/cp_key.ts";
import { TOPICS } from "../shared/kafka.ts";
import { setupLogging, stopLogging } from "../shared/log.ts";
import { centralGroupAtEnd, testBrokers, uniqueName } from "./kafka_env.ts";
import { KafkaWire } from "./kafka_wire.ts";

const ADMIN = "test-central-admin-token-0123456789";

interface Setup {
  readonly dir: string;
  readonly registry: TestRegistry;
  readonly central: RunningCentral;
  readonly wire: KafkaWire;
  readonly driverId: string;
  readonly cpIds: readonly string[];
  /** Every API answer body, for the secrets check. */
  readonly answers: string[];
  /** Calls Central's REST API (with the admin token for POST) and keeps the answer. */
  // deno-lint-ignore no-explicit-any -- answers are JSON, checked field by field
  api(method: "GET" | "POST", path: string, body?: unknown): Promise<{ status: number; json: any }>;
}

function withCentral(
  cps: number,
  test: (s: Setup) => Promise<void>,
  options: { auditIntervalMs?: number } = {},
): Promise<void> {
  return withTestRegistry("central_security_", async (dir, registry) => {
    const driverId = uniqueName("D");
    const cpIds = Array.from({ length: cps }, () => uniqueName("CP"));
    const wire = await KafkaWire.open(driverId, cpIds, { atEnd: true });
    const central = await startTestCentral(dir, registry, testBrokers(), {
      group: await centralGroupAtEnd("central-security"),
      ...options,
    });
    const answers: string[] = [];
    const api: Setup["api"] = async (method, path, body) => {
      const res = await fetch(`${central.httpUrl}${path}`, {
        method,
        headers: {
          ...(method === "POST" ? { authorization: `Bearer ${ADMIN}` } : {}),
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      answers.push(text);
      return { status: res.status, json: JSON.parse(text) };
    };
    try {
      await test({ dir, registry, central, wire, driverId, cpIds, answers, api });
    } finally {
      await central.stop();
      await wire.close();
    }
  });
}

/** Logs a stand-in monitor in; returns it, its key and key version. */
const logIn = (s: Setup, cpId: string, token: BoundToken, extractable = false) =>
  logInMonitor(s.central, s.registry, cpId, token, { keepAliveMs: 300, extractable });

/** The audit records of `action` about `cpId` or by it (flood summaries), oldest first. */
function audited(central: RunningCentral, cpId: string, action: string): AuditRecord[] {
  return central.runtime.auditPage({ action, limit: 1000 }).items
    .filter((r) => r.params.cpId === cpId || r.actor === `cp:${cpId}`)
    .reverse();
}

/** Opens a session on `cpId` for the driver, with 2 kWh supplied so far. */
async function supplying(s: Setup, cpId: string, kv: number, key: CryptoKey, requestId: string) {
  const before = s.wire.of("AUTHORIZED").length;
  await s.wire.charge(s.driverId, requestId, cpId);
  await waitFor("AUTHORIZED", () => s.wire.of("AUTHORIZED").length === before + 1);
  const { sessionId } = s.wire.of("AUTHORIZED")[before];
  const supplies = s.wire.of("SUPPLY").length;
  const supply = await s.wire.telemetry(cpId, kv, key, {
    type: "SUPPLY",
    sessionId,
    kw: 22,
    kwh: 2,
    eur: 1,
  });
  await waitFor("SUPPLY", () => s.wire.of("SUPPLY").length === supplies + 1);
  return { sessionId, supply };
}

Deno.test("security: a rotation, then a revocation, each during a session: ticket, new key, old one rejected", async () => {
  await withCentral(1, async (s) => {
    const [cpId] = s.cpIds;
    const { credentials } = await s.registry.client.register({
      cp_id: cpId,
      location: `At ${cpId}`,
      price_eur_kwh: 0.5,
    });
    const bound = () => authenticateBound(s.registry.client, cpId, credentials);
    const first = await logIn(s, cpId, await bound());
    const one = await supplying(s, cpId, first.kv, first.key, "r1");

    const rotated = await s.api("POST", `/cps/${cpId}/keys/rotate`);
    assert.equal(rotated.status, 200);
    assert.deepEqual([rotated.json.key_version, rotated.json.state], [null, "DISCONNECTED"]);
    const logout = await first.monitor.next();
    assert.ok(logout?.type === "LOGOUT" && logout.reason === "key_rotated" && logout.retryable);
    await waitFor("TICKET key_lost", () => s.wire.of("TICKET").length === 1);
    const ticket = s.wire.of("TICKET")[0];
    assert.deepEqual([ticket.sessionId, ticket.kwh, ticket.eur, ticket.endReason], [
      one.sessionId,
      2,
      1,
      "key_lost",
    ]);

    // Telemetry under the old key is rejected (and audited); the session is over anyway.
    const rejected = s.central.runtime.drops.rejectedTelemetry;
    await s.wire.telemetry(cpId, first.kv, first.key, {
      type: "SUPPLY",
      sessionId: one.sessionId,
      kw: 22,
      kwh: 9,
      eur: 4.5,
    });
    await waitFor("old key rejected", () => s.central.runtime.drops.rejectedTelemetry > rejected);

    const second = await logIn(s, cpId, await bound());
    assert.equal(second.kv, first.kv + 1);
    const two = await supplying(s, cpId, second.kv, second.key, "r2");

    const revoked = await s.api("POST", `/cps/${cpId}/keys/revoke`);
    assert.equal(revoked.status, 200);
    assert.equal(revoked.json.state, "DISCONNECTED");
    assert.ok(revoked.json.revoked_at);
    const out = await second.monitor.next();
    assert.ok(out?.type === "LOGOUT" && out.reason === "key_revoked" && out.retryable);
    await waitFor("second TICKET", () => s.wire.of("TICKET").length === 2);
    assert.deepEqual([s.wire.of("TICKET")[1].sessionId, s.wire.of("TICKET")[1].endReason], [
      two.sessionId,
      "key_lost",
    ]);

    // A driver asking now is told the CP is disconnected; it re-authenticates with a new token.
    await s.wire.charge(s.driverId, "r3", cpId);
    await waitFor("DENIED", () => s.wire.of("DENIED").length === 1);
    assert.equal(s.wire.of("DENIED")[0].reason, "disconnected");
    const third = await logIn(s, cpId, await bound());
    assert.equal(third.kv, second.kv + 1);
    assert.equal(s.central.runtime.model.cps.get(cpId)?.status.state, "ACTIVATED");

    const rotate = audited(s.central, cpId, "key.rotate");
    assert.deepEqual(
      rotate.map((r) => [r.actor, r.outcome, r.origin_ip, r.params.sessionId]),
      [["admin", "ok", "127.0.0.1", one.sessionId]],
    );
    assert.equal(audited(s.central, cpId, "key.revoke")[0]?.params.sessionId, two.sessionId);
    assert.deepEqual(
      audited(s.central, cpId, "session.ticket").map((r) => r.params.endReason),
      ["key_lost", "key_lost"],
    );
    assert.equal(audited(s.central, cpId, "cp.login").length, 3);
    assert.ok(
      audited(s.central, cpId, "telemetry.reject").some((r) => r.params.reason === "revoked"),
    );
    await waitFor(
      "key.rotate on audit.events",
      () => s.wire.audit.some((r) => r.action === "key.rotate"),
    );
    await third.monitor.close();
  });
});

Deno.test("security: OUT_OF_SERVICE stops and denies but logs in; REVOKED logs out and refuses for good", async () => {
  await withCentral(1, async (s) => {
    const [cpId] = s.cpIds;
    const token = await s.registry.registerCp(cpId);
    const cp = await logIn(s, cpId, token);
    const { sessionId } = await supplying(s, cpId, cp.kv, cp.key, "r1");

    const oos = await s.api("POST", `/cps/${cpId}/security`, {
      status: "OUT_OF_SERVICE",
      reason: "meter inspection",
    });
    assert.equal(oos.status, 200);
    assert.deepEqual([oos.json.status, oos.json.state, oos.json.stop_reason, oos.json.reason], [
      "OUT_OF_SERVICE",
      "STOPPED",
      "out_of_service",
      "meter inspection",
    ]);
    await waitFor(
      "STOP to the engine",
      async () =>
        (await s.wire.commandsFor(cpId, cp.key)).some((c) =>
          c.type === "STOP" && c.reason === "out_of_service"
        ),
    );
    // The engine ends its session as after any stop.
    await s.wire.telemetry(cpId, cp.kv, cp.key, {
      type: "SUPPLY_END",
      sessionId,
      kwh: 2.5,
      eur: 1.25,
      endReason: "status_lost",
    });
    await waitFor("TICKET status_lost", () => s.wire.of("TICKET").length === 1);
    assert.equal(s.wire.of("TICKET")[0].endReason, "status_lost");
    await s.wire.charge(s.driverId, "r2", cpId);
    await waitFor("DENIED out_of_service", () => s.wire.of("DENIED").length === 1);
    assert.equal(s.wire.of("DENIED")[0].reason, "out_of_service");
    // Logging in still works (a new monitor replaces the old one) and the CP stays STOPPED.
    const again = await logIn(s, cpId, await s.registry.freshToken(cpId));
    assert.equal(s.central.runtime.model.cps.get(cpId)?.status.state, "STOPPED");

    const revoked = await s.api("POST", `/cps/${cpId}/security`, {
      status: "REVOKED",
      reason: "stolen unit",
    });
    assert.equal(revoked.status, 200);
    const out = await again.monitor.next();
    assert.ok(out?.type === "LOGOUT" && out.reason === "revoked" && !out.retryable);
    const refused = await MonitorStub.connect(s.central.tcpAddr, s.registry.caCert);
    const { answer } = await refused.login(cpId, await s.registry.freshToken(cpId));
    assert.ok(answer?.type === "AUTH_FAIL" && answer.reason === "revoked" && !answer.retryable);
    const back = await s.api("POST", `/cps/${cpId}/security`, { status: "ACTIVE", reason: "oops" });
    assert.equal(back.status, 409);
    assert.equal((await s.api("POST", `/cps/${cpId}/keys/rotate`)).status, 409);
    await s.wire.charge(s.driverId, "r3", cpId);
    await waitFor("DENIED revoked", () => s.wire.of("DENIED").length === 2);
    assert.equal(s.wire.of("DENIED")[1].reason, "revoked");

    const view = await s.api("GET", `/security/${cpId}`);
    assert.deepEqual(
      [view.json.status, view.json.key_version, view.json.failed_logins, view.json.reason],
      ["REVOKED", null, 1, "stolen unit"],
    );
    assert.ok(view.json.revoked_at && view.json.last_login);
    assert.ok(
      (await s.api("GET", "/security")).json.some((v: { cp_id: string }) => v.cp_id === cpId),
    );

    assert.deepEqual(
      audited(s.central, cpId, "security.set").map((r) => [r.params.status, r.outcome]),
      [["OUT_OF_SERVICE", "ok"], ["REVOKED", "ok"], ["ACTIVE", "denied"]],
    );
    const failed = audited(s.central, cpId, "cp.login").filter((r) => r.outcome !== "ok");
    assert.deepEqual(failed.map((r) => [r.outcome, r.params.reason]), [["denied", "revoked"]]);
    const denials = audited(s.central, cpId, "charge.denied").map((r) => r.params.reason);
    assert.deepEqual(denials, ["out_of_service", "revoked"]);
    const page = await s.api("GET", `/audit?action=security.set&limit=2`);
    assert.equal(page.json.items.length, 2);
    assert.ok(page.json.total >= 3);
  });
});

Deno.test("security: replayed and forged telemetry is rejected and audited; the session's figures hold", async () => {
  await withCentral(2, async (s) => {
    const [cpA, cpB] = s.cpIds;
    const a = await logIn(s, cpA, await s.registry.registerCp(cpA, { price_eur_kwh: 0.5 }));
    const b = await logIn(s, cpB, await s.registry.registerCp(cpB));
    const { sessionId, supply } = await supplying(s, cpA, a.kv, a.key, "r1");
    const rejected = s.central.runtime.drops.rejectedTelemetry;
    const duplicates = s.central.runtime.drops.duplicateTelemetry;

    await s.wire.producer.send(TOPICS.cpTelemetry, cpA, supply); // the captured record again
    const forged = { type: "SUPPLY", sessionId, kw: 22, kwh: 50, eur: 0 };
    const random = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
      "encrypt",
      "decrypt",
    ]);
    await s.wire.telemetry(cpA, a.kv, random, forged); // a random key
    await s.wire.telemetry(cpA, a.kv, b.key, forged); // another CP's key
    const moved = await s.wire.telemetry(cpB, b.kv, b.key, forged, cpA); // cp field ≠ the CP
    await s.wire.producer.send(TOPICS.cpTelemetry, cpA, { ...supply, cp: cpB }); // cp changed
    await waitFor(
      "four forgeries rejected",
      () => s.central.runtime.drops.rejectedTelemetry >= rejected + 4,
    );
    await waitFor(
      "the replay dropped",
      () => s.central.runtime.drops.duplicateTelemetry > duplicates,
    );
    assert.equal(moved.cp, cpB);

    const cpJson = (await s.api("GET", `/cps/${cpA}`)).json;
    assert.deepEqual([cpJson.kwh, cpJson.eur], [2, 1], "the bill did not move");
    assert.equal(s.wire.of("SUPPLY").length, 1, "no forged figure reached the driver");
    const reasons = audited(s.central, cpA, "telemetry.reject").map((r) => r.params.reason);
    for (const reason of ["replay", "tag", "cp_mismatch"]) {
      assert.ok(reasons.includes(reason), `${reason} audited (got ${reasons})`);
    }
    // The second tag failure in the window is only counted, in the window's summary.
    await waitFor(
      "the summary of the repeated tag failure",
      () =>
        audited(s.central, cpA, "telemetry.reject").some((r) =>
          r.params.reason === "tag" && r.params.count === 1
        ),
    );
  }, { auditIntervalMs: 300 });
});

Deno.test("audit: after a full scenario the file verifies, tampering is found at the right record, no secret leaks", async () => {
  const logs: string[] = [];
  const decoder = new TextDecoder();
  await setupLogging({
    level: "debug",
    format: "json",
    isTerminal: false,
    stream: new WritableStream({ write: (chunk) => void logs.push(decoder.decode(chunk)) }),
  });
  try {
    await withCentral(1, async (s) => {
      const [cpId] = s.cpIds;
      const { credentials: secret } = await s.registry.client.register({
        cp_id: cpId,
        location: `At ${cpId}`,
      });
      const token = await authenticateBound(s.registry.client, cpId, secret);
      const cp = await logIn(s, cpId, token, true);
      const { sessionId } = await supplying(s, cpId, cp.kv, cp.key, "r1");
      await s.wire.telemetry(cpId, cp.kv, cp.key, {
        type: "SUPPLY_END",
        sessionId,
        kwh: 3,
        eur: 1.5,
        endReason: "unplugged",
      });
      await waitFor("TICKET", () => s.wire.of("TICKET").length === 1);
      await s.api("POST", `/cps/${cpId}/keys/rotate`);
      await cp.monitor.next();
      const wrong = await fetch(`${s.central.httpUrl}/cps/${cpId}/stop`, {
        method: "POST",
        headers: { authorization: "Bearer not-the-admin-token" },
      });
      assert.equal(wrong.status, 401);
      s.answers.push(await wrong.text());
      await s.api("POST", `/cps/${cpId}/security`, { status: "REVOKED", reason: "end of test" });
      for (const path of ["/cps", "/security", "/audit?limit=1000", "/health", "/sessions"]) {
        await s.api("GET", path);
      }

      const head = s.central.audit.head; // before reading: the file may only have grown since
      const lines = (await Deno.readTextFile(s.central.auditFile)).trimEnd().split("\n");
      const verdict = verifyAuditLines(lines, { expectedHead: head });
      assert.ok(verdict.ok, JSON.stringify(verdict));
      const at = lines.findIndex((l) => l.includes('"action":"key.rotate"'));
      assert.ok(at > 0);
      const edited = lines.with(at, lines[at].replace('"outcome":"ok"', '"outcome":"denied"'));
      assert.deepEqual(bad(edited), { index: at + 1, seq: at + 1 });
      assert.deepEqual(bad(lines.toSpliced(at, 1)), { index: at + 1, seq: at + 2 });
      const swapped = lines.with(at, lines[at + 1]).with(at + 1, lines[at]);
      assert.deepEqual(bad(swapped), { index: at + 1, seq: at + 2 });
      assert.ok(lines.some((l) => l.includes('"action":"api.auth"')), "the wrong token is audited");

      const master = await Deno.readFile(join(s.dir, "central", "central_master.key"));
      const secrets = {
        credentials: secret,
        token: token.token,
        cpKey: await exportCpKey(cp.key),
        masterKey: master.toBase64(),
        masterKeyHex: master.toHex(),
        adminToken: ADMIN,
        registryAdminKey: "test-registry-admin-key-0123456789",
      };
      const places = {
        "the audit file": lines.join("\n"),
        "the audit stream": JSON.stringify(s.wire.audit),
        "the logs": logs.join(""),
        "the API answers": s.answers.join("\n"),
      };
      assert.ok(logs.length > 10, "the logs were captured");
      for (const [what, value] of Object.entries(secrets)) {
        assert.ok(value.length >= 16, `${what} is a real secret`);
        for (const [where, text] of Object.entries(places)) {
          assert.ok(!text.includes(value), `${what} appears in ${where}`);
        }
      }
    });
  } finally {
    await stopLogging();
  }
});

/** Where verification fails, as `{index, seq}`. */
function bad(lines: readonly string[]): { index: number; seq: number } | "ok" {
  const verdict = verifyAuditLines(lines);
  return verdict.ok ? "ok" : { index: verdict.index, seq: verdict.seq };
}
