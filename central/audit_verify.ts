/**
 * `deno task audit:verify [file] [--expect-head <seq>:<hash>] [--no-checkpoint]`: checks the hash
 * chain of Central's JSON-lines audit log (ARCHITECTURE §Audit) with {@link verifyAuditFile}, and
 * by default against Central's newest signed checkpoint beside it (`audit.checkpoint.json`,
 * signed under `audit_checkpoint.key`; see `audit_checkpoint.ts`), so a log whose tail was cut off
 * fails at the first missing record.
 *
 * Prints `OK: N records, head <seq>/<hash prefix>` (and the full head to pass as
 * `--expect-head` next time) and exits 0; prints `FAIL at record <seq> (line L): <reason>` for
 * the first bad record, or `FAIL: <reason>` for a forged or removed checkpoint, and exits 1; exits
 * 2 on a bad command line or a file it cannot read.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { defineConfig, flag, loadConfig, option, text } from "../shared/config.ts";
import { verifyAuditFile } from "./audit.ts";
import type { AuditHead, AuditVerification } from "./audit_chain.ts";
import {
  type AuditCheckpoint,
  AuditCheckpointError,
  CHECKPOINT_FILE,
  CHECKPOINT_KEY_FILE,
  readCheckpoint,
  readCheckpointKey,
} from "./audit_checkpoint.ts";

/** `<seq>:<hash>`, seq ≥ 1 and the full 64-digit hash (a prefix would be far easier to forge). */
function auditHead(raw: string): AuditHead {
  const match = raw.trim().match(/^(\d{1,15}):([0-9a-f]{64})$/);
  if (!match || Number(match[1]) < 1) {
    throw new Error("<seq>:<hash>, a record number from 1 and 64 lower-case hex digits");
  }
  return { seq: Number(match[1]), hash: match[2] };
}

const spec = defineConfig({
  name: "audit:verify",
  summary: "Checks the hash chain of Central's audit log against its signed checkpoint and " +
    "names the first missing or bad record.",
  options: {
    file: option(text, {
      flag: "file",
      position: 0,
      default: "data/audit.jsonl",
      help: "The audit log (JSON lines)",
    }),
    expectHead: option(auditHead, {
      flag: "expect-head",
      optional: true,
      help: "A head recorded earlier, <seq>:<hash>, that the log must still contain",
    }),
    checkpoint: option(text, {
      flag: "checkpoint",
      optional: true,
      help: `Central's signed checkpoint (default ${CHECKPOINT_FILE} beside the log)`,
    }),
    checkpointKey: option(text, {
      flag: "checkpoint-key",
      env: "AUDIT_CHECKPOINT_KEY_FILE",
      optional: true,
      help: `The checkpoints' HMAC key (default ${CHECKPOINT_KEY_FILE} beside the log)`,
    }),
    noCheckpoint: flag({
      flag: "no-checkpoint",
      help: "Check the chain alone (a cut tail then shows only against --expect-head)",
    }),
  },
});

const config = loadConfig(spec);

/** Ends the run: 1 for a verdict against the log, 2 for something it could not read. */
function exit(code: 1 | 2, line: string): never {
  (code === 1 ? console.log : console.error)(line);
  Deno.exit(code);
}

/**
 * The signed checkpoint to check against, `undefined` when there is none to use, or an exit when
 * one was removed or forged.
 */
async function loadCheckpoint(): Promise<AuditCheckpoint | undefined> {
  if (config.noCheckpoint) return undefined;
  const dir = dirname(config.file);
  const file = config.checkpoint ?? join(dir, CHECKPOINT_FILE);
  const keyFile = config.checkpointKey ?? join(dir, CHECKPOINT_KEY_FILE);
  const keyExists = await Deno.stat(keyFile).then(() => true, () => false);
  const fileExists = await Deno.stat(file).then(() => true, () => false);
  if (!fileExists && !keyExists) {
    console.error(`(no checkpoint beside the log: a cut tail shows only with --expect-head)`);
    return undefined;
  }
  if (!fileExists) {
    exit(
      1,
      `FAIL: no checkpoint ${file}, although Central signs them (${keyFile} exists): it was ` +
        "removed (--no-checkpoint checks the chain alone)",
    );
  }
  try {
    return await readCheckpoint(file, await readCheckpointKey(keyFile));
  } catch (error) {
    if (!(error instanceof AuditCheckpointError)) throw error;
    if (/cannot read/.test(error.message)) exit(2, `audit:verify: ${error.message}`);
    exit(1, `FAIL: ${error.message}`);
  }
}

/** The verdict against `head`, or the plain chain's without one. */
async function verify(head: AuditHead | undefined): Promise<AuditVerification> {
  try {
    return await verifyAuditFile(config.file, { expectedHead: head });
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "no such file"
      : error instanceof Error
      ? error.message
      : String(error);
    exit(2, `audit:verify: cannot read ${config.file}: ${why}`);
  }
}

const checkpoint = await loadCheckpoint();
const signed = checkpoint !== undefined && checkpoint.seq > 0 ? checkpoint : undefined;
let result = await verify(signed);
if (!result.ok && signed !== undefined) {
  result = { ...result, reason: `${result.reason} [the checkpoint signed ${signed.ts}]` };
}
if (result.ok && config.expectHead !== undefined) result = await verify(config.expectHead);
if (!result.ok) exit(1, `FAIL at record ${result.seq} (line ${result.index}): ${result.reason}`);
console.log(
  `OK: ${result.count} records, head ${result.head.seq}/${result.head.hash.slice(0, 12)}`,
);
if (checkpoint !== undefined) {
  console.log(`checkpoint: seq ${checkpoint.seq} signed ${checkpoint.ts} is in the log`);
}
console.log(`(check this head later with --expect-head ${result.head.seq}:${result.head.hash})`);
