/**
 * `deno task audit:verify [file] [--expect-head <seq>:<hash>]`: checks the hash chain of
 * Central's JSON-lines audit log (ARCHITECTURE §Audit) with {@link verifyAuditFile}.
 *
 * Prints `OK: N records, head <seq>/<hash prefix>` (and the full head to pass as
 * `--expect-head` next time) and exits 0; prints `FAIL at record <seq> (line L): <reason>` for
 * the first bad record and exits 1; exits 2 on a bad command line or a file it cannot read.
 *
 * @module
 */
import { defineConfig, loadConfig, option, text } from "../shared/config.ts";
import { type AuditHead, verifyAuditFile } from "./audit.ts";

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
  summary: "Checks the hash chain of Central's audit log and names the first bad record.",
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
  },
});

const config = loadConfig(spec);
let result;
try {
  result = await verifyAuditFile(config.file, { expectedHead: config.expectHead });
} catch (error) {
  const why = error instanceof Deno.errors.NotFound
    ? "no such file"
    : error instanceof Error
    ? error.message
    : String(error);
  console.error(`audit:verify: cannot read ${config.file}: ${why}`);
  Deno.exit(2);
}
if (result.ok) {
  console.log(
    `OK: ${result.count} records, head ${result.head.seq}/${result.head.hash.slice(0, 12)}`,
  );
  console.log(`(check this head later with --expect-head ${result.head.seq}:${result.head.hash})`);
} else {
  console.log(`FAIL at record ${result.seq} (line ${result.index}): ${result.reason}`);
  Deno.exit(1);
}
