/**
 * The pure part of Central's tamper-evident audit log (ARCHITECTURE §Audit): what a record is,
 * its canonical form and hash, and the check of a whole chain. No I/O: the storage is
 * `audit.ts`, the flood control `audit_flood.ts`.
 *
 * **Records.** Every security-relevant or operational action becomes one {@link AuditRecord}
 * `{seq, ts, origin_ip?, actor, action, params, outcome, prev_hash, hash}`, stored twice: a row of
 * the `audit_log` table in Central's SQLite database (the truth) and one line of a JSON-lines file
 * (the copy an operator archives and checks with `deno task audit:verify`).
 *
 * **Hash chain.** `seq` counts 1, 2, 3, … with no gap. `prev_hash` is the previous record's
 * `hash`, {@link GENESIS_HASH} (64 zeros) for record 1. `hash` is the lower-case hex SHA-256 of
 * the UTF-8 bytes of the record's canonical form without `hash` (see {@link hashAuditRecord}).
 * A file line is the canonical form of the whole record (see {@link formatAuditLine}). So an
 * edited record no longer matches its hash, and a removed, inserted or moved record breaks `seq`
 * and `prev_hash` at the record after it. The canonical form is RFC 8785 (JCS) restricted to what
 * a record holds: `JSON.stringify` of each value, object keys sorted by UTF-16 code units at every
 * level, no whitespace, an absent `origin_ip` left out (never `null`). Any JCS library in any
 * language reproduces it.
 *
 * **What a chain cannot show.** Removing the *last* records leaves a shorter chain that is still
 * valid. Hence a verifier takes an optional expected head `{seq, hash}`, a checkpoint kept
 * somewhere else, and fails if the log does not contain it: the head of the SQLite table
 * ({@link AuditLog.head}) for the file, the last record a consumer saw on `audit.events`, or the
 * head this module logs at open and close. Hiding a removed tail then means editing every copy.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { z } from "zod";
import {
  type AuditOutcome,
  type AuditParams,
  auditSchema,
  decodeJson,
  parseMessage,
  seqSchema,
} from "../shared/messages.ts";

/** What a caller audits: a record's fields other than those the log assigns. */
export interface AuditEntry {
  /** Who did it (`central`, `admin`, `cp:CP01`, `driver:D7`, `weather`), the Kafka key. */
  readonly actor: string;
  /** What was done, lower-case dotted words (`cp.login`, `key.revoke`, `envelope.reject`). */
  readonly action: string;
  /** How it ended. */
  readonly outcome: AuditOutcome;
  /**
   * Flat public details (ids, reason codes, figures). Never a secret: a key matching a secret
   * field pattern of shared/log.ts is refused.
   */
  readonly params: AuditParams;
  /** The client IP address it came from (IPv4 or IPv6), when there is one. */
  readonly originIp?: string;
}

/**
 * One audit record: the `AUDIT` message of `audit.events` (shared/messages.ts) without its
 * envelope fields `v` and `type`, plus `seq`, the record's position in the chain (from 1).
 */
export const auditRecordSchema = auditSchema.omit({ v: true, type: true }).extend({
  seq: seqSchema.min(1, `must be an integer from 1 to ${Number.MAX_SAFE_INTEGER}`),
});

/** One audit record (see {@link auditRecordSchema}). */
export type AuditRecord = z.infer<typeof auditRecordSchema>;

/** What the hash covers: every field but `hash`. */
export const auditContentSchema = auditRecordSchema.omit({ hash: true });

/** The `prev_hash` of record 1. */
export const GENESIS_HASH = "0".repeat(64);

/** The last record of a log: its `seq` and `hash`; `{0, GENESIS_HASH}` for an empty log. */
export interface AuditHead {
  /** `seq` of the last record (0 when there is none). */
  readonly seq: number;
  /** `hash` of the last record ({@link GENESIS_HASH} when there is none). */
  readonly hash: string;
}

/** The head of an empty log. */
export const GENESIS_HEAD: AuditHead = { seq: 0, hash: GENESIS_HASH };

/**
 * The canonical JSON of a record or of its params: keys sorted, no whitespace. Records hold only
 * flat objects of strings, finite numbers, booleans and null (the schema says so), so this is
 * RFC 8785 for them.
 */
export function canonicalJson(value: unknown): string {
  if (typeof value !== "object" || value === null) return JSON.stringify(value);
  const object = value as Record<string, unknown>;
  const members = Object.keys(object)
    .filter((key) => object[key] !== undefined)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson(object[key])}`);
  return `{${members.join(",")}}`;
}

/**
 * The hash of a record: lower-case hex SHA-256 of the UTF-8 bytes of the canonical JSON of every
 * field except `hash` (a `hash` field given is ignored, so a whole record can be passed).
 */
export function hashAuditRecord(record: Omit<AuditRecord, "hash"> & { hash?: string }): string {
  const { hash: _ignored, ...content } = record;
  return createHash("sha256").update(canonicalJson(content)).digest("hex");
}

/** A record as one line of the JSON-lines file (without the `\n`): its canonical JSON. */
export function formatAuditLine(record: AuditRecord): string {
  return canonicalJson(record);
}

/** Options of {@link verifyAuditLines} (and of `verifyAuditFile` in audit.ts). */
export interface VerifyAuditOptions {
  /**
   * A head recorded elsewhere (a checkpoint): the log must contain a record with this `seq` and
   * this `hash`. Detects removed tail records, which a chain alone cannot. The log may have grown
   * past it.
   */
  readonly expectedHead?: AuditHead;
}

/**
 * The verdict on a log: every record checked (`count`, last record `head`), or the first bad one
 * at 1-based line `index`, whose `seq` is the one the record claims (the expected one when the
 * line is unreadable or records are missing at the end), and why.
 */
export type AuditVerification =
  | { readonly ok: true; readonly count: number; readonly head: AuditHead }
  | { readonly ok: false; readonly index: number; readonly seq: number; readonly reason: string };

/**
 * Checks a log given as its lines, in file order, and names the first bad record: an unreadable
 * line, a hash that does not match the record's content (edited), a `seq` other than the previous
 * one plus 1 (a record removed, inserted or moved), a `prev_hash` other than the previous
 * record's hash (the previous record edited and rehashed, or replaced), or an expected head the
 * log does not contain. Pure: no I/O.
 */
export function verifyAuditLines(
  lines: Iterable<string>,
  options: VerifyAuditOptions = {},
): AuditVerification {
  const expected = options.expectedHead;
  let previous = GENESIS_HEAD;
  let index = 0;
  for (const line of lines) {
    index++;
    const wanted = previous.seq + 1;
    const fail = (reason: string, seq = wanted) => ({ ok: false, index, seq, reason } as const);
    const json = decodeJson(line);
    if (!json.ok) return fail(`unreadable line: ${json.reason}`);
    const parsed = parseMessage(auditRecordSchema, json.value);
    if (!parsed.ok) return fail(`not an audit record: ${parsed.reason}`);
    const record = parsed.value;
    if (hashAuditRecord(record) !== record.hash) {
      return fail("hash does not match the record's content: the record was edited", record.seq);
    }
    if (record.seq !== wanted) {
      return fail(
        `seq ${record.seq} where ${wanted} was expected: a record is missing, inserted or out of order`,
        record.seq,
      );
    }
    if (record.prev_hash !== previous.hash) {
      return fail(
        `prev_hash is not the hash of record ${previous.seq}: that record was altered (and its ` +
          "hash recomputed) or replaced",
        record.seq,
      );
    }
    if (expected !== undefined && record.seq === expected.seq && record.hash !== expected.hash) {
      return fail("hash differs from the expected head: the record was altered", record.seq);
    }
    previous = { seq: record.seq, hash: record.hash };
  }
  if (expected !== undefined && previous.seq < expected.seq) {
    const missing = expected.seq - previous.seq;
    return {
      ok: false,
      index: index + 1,
      seq: previous.seq + 1,
      reason: `the log ends at seq ${previous.seq} but the expected head is seq ${expected.seq}: ` +
        `the last ${missing} record${missing === 1 ? " is" : "s are"} missing`,
    };
  }
  return { ok: true, count: index, head: previous };
}
