import assert from "node:assert/strict";
import { EMPTY_MODEL } from "./core.ts";
import { formats } from "../shared/i18n.ts";
import { notice, noticeText } from "../shared/notices.ts";
import { readiness } from "./readiness.ts";
import { systemStatus } from "./system_health.ts";

const NOW = Date.parse("2026-01-01T10:00:00Z");
const DB_OK = { failure: null, queryError: null };

const status = (over: Partial<Parameters<typeof systemStatus>[0]> = {}) =>
  systemStatus({
    producerConnected: true,
    lastFetchMs: { requests: NOW - 1000, telemetry: NOW - 1000 },
    outboxPending: 0,
    registryOkMs: NOW - 2000,
    registryErrorMs: null,
    registryError: null,
    registryFeed: { status: "ok", ...notice("feed_ok"), appliedSeq: 3, lastOkMs: NOW - 100 },
    model: EMPTY_MODEL,
    ...over,
  }, NOW);

Deno.test("readiness: ready when Kafka, the Registry and the database are ok", () => {
  const verdict = readiness(status(), DB_OK);
  assert.equal(verdict.ready, true);
  assert.deepEqual(verdict.failing, []);
  assert.equal(verdict.checks.kafka.status, "ok");
});

Deno.test("readiness: names each failing part with why", () => {
  const verdict = readiness(
    status({
      producerConnected: false,
      registryErrorMs: NOW - 500,
      registryError: "connection refused",
    }),
    { failure: { at: NOW - 100, message: "disk I/O error" }, queryError: null },
  );
  assert.equal(verdict.ready, false);
  assert.deepEqual(verdict.failing, ["kafka", "registry", "database"]);
  assert.equal(verdict.checks.kafka.detail, "producer not connected");
  assert.equal(verdict.checks.registry.detail, "status call failed: connection refused");
  assert.match(verdict.checks.database.detail, /disk I\/O error/);
});

Deno.test("readiness: each check's reason is also a code with parameters, shown in Spanish", () => {
  const verdict = readiness(
    status({ registryErrorMs: NOW - 500, registryError: "connection refused" }),
    { failure: { at: NOW - 100, message: "disk I/O error" }, queryError: null },
  );
  const { registry, database, kafka } = verdict.checks;
  assert.deepEqual([registry.detail_code, registry.detail_params], [
    "registry_error",
    { error: "connection refused" },
  ]);
  assert.equal(noticeText(registry, "es"), "la consulta de estado falló: connection refused");
  assert.equal(database.detail_code, "database_commit_failed");
  assert.equal(database.detail_params.at, "2026-01-01T09:59:59.900Z", "the English keeps ISO");
  assert.equal(
    noticeText(database, "es"),
    `la última escritura falló el ${formats("es").dateTime(new Date(NOW - 100))}: disk I/O error`,
  );
  assert.equal(noticeText(kafka, "es"), "productor conectado, consumidores leyendo");
  assert.equal(noticeText(kafka, "en"), kafka.detail, "English on a screen is Central's words");
});

Deno.test("readiness: a stalled consumer, a Registry never asked, a database that cannot answer", () => {
  const verdict = readiness(
    status({ lastFetchMs: { requests: NOW - 60_000 }, registryOkMs: null }),
    { failure: null, queryError: "database is closed" },
  );
  assert.deepEqual(verdict.failing, ["kafka", "registry", "database"]);
  assert.equal(verdict.checks.registry.status, "unknown");
  assert.equal(verdict.checks.database.detail, "a query fails: database is closed");
});

Deno.test("readiness: a change feed never read, or failing, is named registry_feed", () => {
  const never = readiness(status({ registryFeed: null }), DB_OK);
  assert.deepEqual(never.failing, ["registry_feed"]);
  assert.equal(never.checks.registry_feed.status, "unknown");
  const failing = readiness(
    status({
      registryFeed: {
        status: "down",
        ...notice("feed_unreadable", { failures: 2, error: "refused" }),
        appliedSeq: 3,
        lastOkMs: null,
      },
    }),
    DB_OK,
  );
  assert.deepEqual(failing.failing, ["registry_feed"]);
  assert.equal(
    failing.checks.registry_feed.detail,
    "the change feed cannot be read (2× in a row): refused",
  );
  assert.equal(failing.checks.registry_feed.detail_code, "feed_unreadable");
});

Deno.test("readiness: the Registry recovers once a later status call answers", () => {
  const verdict = readiness(
    status({ registryErrorMs: NOW - 5000, registryOkMs: NOW - 1000, registryError: "refused" }),
    DB_OK,
  );
  assert.equal(verdict.ready, true);
});

Deno.test("readiness: without Kafka and the Registry watched, only the database is judged", () => {
  assert.equal(readiness(undefined, DB_OK).ready, true);
  assert.deepEqual(readiness(undefined, { failure: null, queryError: "closed" }).failing, [
    "database",
  ]);
});
