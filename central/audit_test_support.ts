/**
 * What the audit tests share (central/audit_verify_test.ts, central/audit_checkpoint_test.ts,
 * the flood aggregator's): `deno task audit:verify`'s command run as a child, and a rejection
 * to flood with. Not used by Central itself.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = dirname(dirname(fileURLToPath(import.meta.url)));

/** Runs `deno task audit:verify`'s command with `args` (in `cwd` when given): code and output. */
export async function verifyCli(args: readonly string[], cwd?: string) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-env",
      "--config",
      join(REPO, "deno.json"),
      join(REPO, "central", "audit_verify.ts"),
      ...args,
    ],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

/** A replayed envelope's rejection (cp:CP01's), as the edge offers it to the flood aggregator. */
export const REPLAY = {
  actor: "cp:CP01",
  action: "envelope.reject",
  reason: "replay",
  outcome: "rejected",
  params: { kv: 3, seq: 41 },
  originIp: "192.0.2.7",
} as const;
