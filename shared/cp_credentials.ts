/**
 * The CP's Registry credentials at rest (docs/charging_loop.md §1.1): one JSON file per CP,
 * `<dir>/<cpId>.credentials`, mode 0600 in a 0700 folder. The Registry shows the credentials
 * once, so the monitor writes them before anything else and never overwrites a file. Only an
 * admin's restore of a REVOKED CP replaces one ({@link replaceCredentials}), with the new
 * credentials the Registry issued for it; the monitor reads the file again at every login.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { statIfAny, writePrivateFileAtomic } from "./private_files.ts";

/** What the file holds. */
export interface StoredCredentials {
  /** The CP the credentials belong to. */
  readonly cp_id: string;
  /** The 256-bit secret from `POST /cp/register`. */
  readonly credentials: string;
  /** The Registry that issued them. */
  readonly registry_url: string;
  /** When they were issued (ISO 8601). */
  readonly registered_at: string;
}

/** A credentials file that cannot be used as it is; the message says what to do. */
export class CredentialsFileError extends Error {
  /** Always `"CredentialsFileError"`. */
  override name = "CredentialsFileError";
}

/** `<dir>/<cpId>.credentials`. */
export function credentialsPath(dir: string, cpId: string): string {
  return join(dir, `${cpId}.credentials`);
}

/**
 * Reads the CP's credentials; undefined when the file does not exist (first start).
 * @throws {CredentialsFileError} if the file is readable by group or others, is not valid, or
 *   belongs to another CP: a leaked or mixed-up secret is not used.
 */
export async function readCredentials(
  path: string,
  cpId: string,
): Promise<StoredCredentials | undefined> {
  const info = await statIfAny(path);
  if (info === undefined) return undefined;
  if (!info.isFile) throw new CredentialsFileError(`${path} is not a regular file`);
  // `mode` is null on Windows, where POSIX permission bits do not apply.
  if (info.mode !== null && (info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8);
    throw new CredentialsFileError(
      `${path} has mode ${mode}: it holds a secret and must not be accessible by group or ` +
        "others (chmod 600 it)",
    );
  }
  let stored: unknown;
  try {
    stored = JSON.parse(await Deno.readTextFile(path));
  } catch {
    throw new CredentialsFileError(`${path} is not a credentials file (bad JSON)`);
  }
  const s = stored as Partial<StoredCredentials>;
  if (typeof s?.credentials !== "string" || s.credentials === "" || typeof s.cp_id !== "string") {
    throw new CredentialsFileError(`${path} is not a credentials file (fields missing)`);
  }
  if (s.cp_id !== cpId) {
    throw new CredentialsFileError(`${path} holds the credentials of CP ${s.cp_id}, not ${cpId}`);
  }
  return s as StoredCredentials;
}

/**
 * Writes the credentials to a new file with mode 0600 (its folder 0700). The file appears
 * whole or not at all (written aside, then hard-linked into place, which also refuses to
 * replace an existing file).
 * @throws {Deno.errors.AlreadyExists} if the CP already has a credentials file.
 */
export async function writeCredentials(path: string, stored: StoredCredentials): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(temp, JSON.stringify(stored, null, 2) + "\n", {
    createNew: true,
    mode: 0o600,
  });
  try {
    await Deno.link(temp, path);
  } finally {
    await Deno.remove(temp);
  }
}

/**
 * Replaces the CP's credentials file with new ones (an admin's restore: the Registry issued new
 * credentials and the old ones no longer work). Written beside it with mode 0600, then renamed
 * over it: a monitor reading at that moment sees the old file or the new, never half.
 */
export async function replaceCredentials(path: string, stored: StoredCredentials): Promise<void> {
  await writePrivateFileAtomic(path, JSON.stringify(stored, null, 2) + "\n");
}
