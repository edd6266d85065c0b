/**
 * Anchors for the audit chain. A hash chain alone cannot show that its last records were cut off
 * (the shorter chain is still valid), with or without the same cut in the database. So Central
 * signs its head now and then: a checkpoint `{v, seq, hash, ts, mac}` where `mac` is
 * HMAC-SHA-256 under a key of its own (`audit_checkpoint.key`, 32 random bytes, 0600, never in the
 * database or the log) over `seq`, `hash` and `ts`. The newest checkpoint is kept in
 * `audit.checkpoint.json` beside the log (0600, replaced whole) and written every
 * {@link CHECKPOINT_EVERY_RECORDS} records, every {@link CHECKPOINT_EVERY_MS} while the head
 * moves, at start and at stop. `deno task audit:verify` checks the log against it: records
 * missing at or before the checkpoint's `seq`, or a different record there, are named.
 *
 * What it proves: whoever cuts the tail of the log and the database, but cannot read the key,
 * cannot make a checkpoint for the shorter chain; records after the newest checkpoint (at most a
 * few seconds' worth) are covered only by the copies on `audit.events`. Whoever holds the key
 * (Central's own disk, the same user) can re-sign; keep the key file on another volume
 * (`--audit-checkpoint-key`) where that matters.
 *
 * @module
 */

import { dirname, join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { decodeBase64, encodeBase64 } from "../shared/encoding.ts";
import { getLogger } from "../shared/log.ts";
import { writePrivateFileAtomic } from "../shared/private_files.ts";
import { readOrCreateSecretFile } from "../shared/secret_file.ts";
import type { AuditHead, AuditRecord } from "./audit_chain.ts";

const log = getLogger(["evcharging", "central", "audit"]);

/** The checkpoint key's file name, beside the audit log unless named otherwise. */
export const CHECKPOINT_KEY_FILE = "audit_checkpoint.key";
/** The checkpoint file's name, beside the audit log. */
export const CHECKPOINT_FILE = "audit.checkpoint.json";
/** A checkpoint at least every this many records. */
export const CHECKPOINT_EVERY_RECORDS = 100;
/** A checkpoint at least this often while records are appended, ms. */
export const CHECKPOINT_EVERY_MS = 5000;

/** One signed head. */
export interface AuditCheckpoint {
  /** Format version, 1. */
  readonly v: 1;
  /** The head's record number (0: no record yet). */
  readonly seq: number;
  /** The head's hash. */
  readonly hash: string;
  /** When it was signed (ISO 8601). */
  readonly ts: string;
  /** Base64 HMAC-SHA-256 of `v1|seq|hash|ts` under the checkpoint key. */
  readonly mac: string;
}

/** A checkpoint or its key is missing, unreadable, forged, or does not match the records. */
export class AuditCheckpointError extends Error {
  /** Always `"AuditCheckpointError"`. */
  override name = "AuditCheckpointError";
}

/** The default checkpoint file and key file of the log at `jsonlPath`. */
export function checkpointPaths(jsonlPath: string): { file: string; keyFile: string } {
  const dir = dirname(jsonlPath);
  return { file: join(dir, CHECKPOINT_FILE), keyFile: join(dir, CHECKPOINT_KEY_FILE) };
}

/** Imports a checkpoint key from its file's text (base64 of 32 bytes). */
async function importKey(text: string, file: string): Promise<CryptoKey> {
  const raw = decodeBase64(text.trim());
  if (raw === null || raw.length !== 32) {
    throw new AuditCheckpointError(`${file} does not hold an audit checkpoint key`);
  }
  return await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
}

/**
 * Reads the checkpoint key at `file`, creating it (0600, folder 0700) on first use.
 * @throws {AuditCheckpointError} if the file holds something else.
 */
export async function loadOrCreateCheckpointKey(file: string): Promise<CryptoKey> {
  const { value } = await readOrCreateSecretFile(
    file,
    () => `${encodeBase64(crypto.getRandomValues(new Uint8Array(32)))}\n`,
  );
  return await importKey(value, file);
}

/**
 * Reads an existing checkpoint key (a verifier never creates one).
 * @throws {AuditCheckpointError} if it is missing or unreadable.
 */
export async function readCheckpointKey(file: string): Promise<CryptoKey> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    throw new AuditCheckpointError(
      `cannot read the checkpoint key ${file}: ${(error as Error).message}`,
    );
  }
  return await importKey(text, file);
}

function signedBytes(c: Pick<AuditCheckpoint, "seq" | "hash" | "ts">): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`evcharging-audit-checkpoint|v1|${c.seq}|${c.hash}|${c.ts}`);
}

/** Signs `head` now. */
export async function signCheckpoint(
  key: CryptoKey,
  head: AuditHead,
  now = new Date(),
): Promise<AuditCheckpoint> {
  const unsigned = { seq: head.seq, hash: head.hash, ts: now.toISOString() };
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, signedBytes(unsigned)));
  return { v: 1, ...unsigned, mac: encodeBase64(mac) };
}

/**
 * Reads the checkpoint at `file` and checks its signature.
 * @returns the checkpoint, or `undefined` if there is no such file.
 * @throws {AuditCheckpointError} if it is unreadable or its signature does not match (forged,
 * edited, or signed under another key).
 */
export async function readCheckpoint(
  file: string,
  key: CryptoKey,
): Promise<AuditCheckpoint | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new AuditCheckpointError(`cannot read ${file}: ${(error as Error).message}`);
  }
  let c: AuditCheckpoint;
  try {
    c = JSON.parse(text);
  } catch {
    throw new AuditCheckpointError(`${file} is not a checkpoint (bad JSON)`);
  }
  const mac = typeof c?.mac === "string" ? decodeBase64(c.mac) : null;
  if (
    c?.v !== 1 || !Number.isSafeInteger(c.seq) || c.seq < 0 || typeof c.hash !== "string" ||
    !/^[0-9a-f]{64}$/.test(c.hash) || typeof c.ts !== "string" || mac === null
  ) {
    throw new AuditCheckpointError(`${file} is not a checkpoint (fields missing or malformed)`);
  }
  if (!(await crypto.subtle.verify("HMAC", key, mac, signedBytes(c)))) {
    throw new AuditCheckpointError(
      `${file}: the signature does not match: the checkpoint was forged or edited`,
    );
  }
  return { v: 1, seq: c.seq, hash: c.hash, ts: c.ts, mac: c.mac };
}

/** What {@link AuditCheckpointer.open} needs of the audit log. */
export interface CheckpointedLog {
  /** The head committed to the database. */
  readonly head: AuditHead;
  /** Calls `listener` after each appended record; returns the function that stops it. */
  subscribe(listener: (record: AuditRecord) => unknown): () => void;
}

/** Settings of {@link AuditCheckpointer.open}. */
export interface AuditCheckpointerOptions {
  /** The log to anchor. */
  readonly audit: CheckpointedLog;
  /** Central's database, to check the previous checkpoint against at start. */
  readonly db: DatabaseSync;
  /** The checkpoint file. */
  readonly file: string;
  /** The key file (created on first start). */
  readonly keyFile: string;
  /** Records between checkpoints. Default {@link CHECKPOINT_EVERY_RECORDS}. */
  readonly everyRecords?: number;
  /** Time between checkpoints while the head moves, ms. Default {@link CHECKPOINT_EVERY_MS}. */
  readonly everyMs?: number;
}

/** Writes Central's checkpoints while it runs. */
export class AuditCheckpointer {
  readonly #audit: CheckpointedLog;
  readonly #key: CryptoKey;
  readonly #file: string;
  readonly #everyRecords: number;
  readonly #unsubscribe: () => void;
  readonly #timer: ReturnType<typeof setInterval>;
  #signed: AuditHead;
  #writes: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(options: AuditCheckpointerOptions, key: CryptoKey, signed: AuditHead) {
    this.#audit = options.audit;
    this.#key = key;
    this.#file = options.file;
    this.#signed = signed;
    this.#everyRecords = options.everyRecords ?? CHECKPOINT_EVERY_RECORDS;
    this.#unsubscribe = options.audit.subscribe((record) => {
      if (record.seq - this.#signed.seq >= this.#everyRecords) this.#checkpoint();
    });
    this.#timer = setInterval(() => this.#checkpoint(), options.everyMs ?? CHECKPOINT_EVERY_MS);
    Deno.unrefTimer(this.#timer);
  }

  /**
   * Checks the previous checkpoint against the database, then signs the current head.
   * @throws {AuditCheckpointError} if the previous checkpoint is forged, or names a record the
   * database lacks or holds with another hash (records were cut off or altered while Central was
   * down). Nothing is changed: an operator looks (`deno task audit:verify`), moves the checkpoint
   * aside, and restarts.
   */
  static async open(options: AuditCheckpointerOptions): Promise<AuditCheckpointer> {
    const key = await loadOrCreateCheckpointKey(options.keyFile);
    const previous = await readCheckpoint(options.file, key);
    if (previous !== undefined && previous.seq > 0) {
      const row = options.db.prepare("SELECT hash FROM audit_log WHERE seq = ?")
        .get(previous.seq) as { hash: string } | undefined;
      if (row?.hash !== previous.hash) {
        throw new AuditCheckpointError(
          `the audit checkpoint ${options.file} (seq ${previous.seq}, signed ${previous.ts}) ` +
            (row === undefined
              ? `names a record the database lacks: records ${
                options.audit.head.seq + 1
              }…${previous.seq} were cut off`
              : `does not match record ${previous.seq} in the database: it was altered`),
        );
      }
    }
    const checkpointer = new AuditCheckpointer(options, key, previous ?? { seq: -1, hash: "" });
    await checkpointer.#checkpoint();
    return checkpointer;
  }

  /** Resolves once every checkpoint asked for so far is written (or failed and logged). */
  settled(): Promise<void> {
    return this.#writes;
  }

  /** Signs the final head and stops. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    clearInterval(this.#timer);
    this.#unsubscribe();
    await this.#checkpoint(true);
    this.#closed = true;
  }

  /** Signs and writes the head if it moved since the last checkpoint; writes never overlap. */
  #checkpoint(final = false): Promise<void> {
    if (this.#closed) return this.#writes;
    this.#writes = this.#writes.then(async () => {
      const head = this.#audit.head;
      if (head.seq === this.#signed.seq && head.hash === this.#signed.hash) return;
      try {
        const checkpoint = await signCheckpoint(this.#key, head);
        await writePrivateFileAtomic(this.#file, `${JSON.stringify(checkpoint)}\n`);
        this.#signed = head;
        if (final) log.info("audit checkpoint at {seq}", { seq: head.seq, file: this.#file });
      } catch (error) {
        log.error("could not write the audit checkpoint {file}: {error}", {
          file: this.#file,
          error,
        });
      }
    });
    return this.#writes;
  }
}
