import assert from "node:assert/strict";
import { cpAudit, namesCp } from "./cp_audit.ts";
import type { AuditView } from "./state.ts";

const record = (seq: number, params: AuditView["params"]): AuditView => ({
  seq,
  ts: new Date(seq * 1000).toISOString(),
  actor: "admin",
  action: "cp.stop",
  outcome: "ok",
  params,
});

Deno.test("cp audit: a record is the CP's when a parameter is exactly its id", () => {
  assert.ok(namesCp(record(1, { cpId: "CP-001" }), "CP-001"));
  assert.ok(namesCp(record(1, { cp_id: "CP-001", reason: "x" }), "CP-001"));
  assert.ok(!namesCp(record(1, { cpId: "CP-0010" }), "CP-001"));
  assert.ok(!namesCp(record(1, { count: 1 }), "CP-001"));
});

Deno.test("cp audit: fetched and live records merge, each once, newest first, bounded", () => {
  const fetched = [
    record(3, { cpId: "CP-001" }),
    record(2, { cpId: "CP-002" }),
    record(1, { cpId: "CP-001" }),
  ];
  const live = [record(5, { cpId: "CP-001" }), record(3, { cpId: "CP-001" })];
  assert.deepEqual(cpAudit("CP-001", [fetched, live]).map((r) => r.seq), [5, 3, 1]);
  assert.deepEqual(cpAudit("CP-001", [fetched, live], 2).map((r) => r.seq), [5, 3]);
  assert.deepEqual(cpAudit("CP-009", [fetched, live]), []);
});
