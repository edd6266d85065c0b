/**
 * Secrets a service creates on first start and keeps (the Registry's signing and admin keys,
 * Central's admin token, the weather service key): written once with mode 0600, read back on
 * every later start.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { randomBytes } from "node:crypto";
import { dirname } from "node:path";
import { makePrivateDir, statIfAny } from "./private_files.ts";

/** A new credential or key: 32 random bytes, base64url without padding (43 characters). */
export function generateCredential(): string {
  return Buffer.from(randomBytes(32)).toString("base64url");
}

/** The secret's value and whether this call created it. */
export interface SecretFile {
  /** File content. */
  readonly value: string;
  /** True when the file did not exist and was written now. */
  readonly created: boolean;
}

/**
 * Reads `path`, or creates it (and its folder) with `make()` and mode 0600 when missing.
 * Creation uses `createNew`, so two processes starting together cannot both write it; an
 * existing file readable by others is tightened to 0600.
 */
export async function readOrCreateSecretFile(
  path: string,
  make: () => string | Promise<string>,
): Promise<SecretFile> {
  const existing = await readSecret(path);
  if (existing !== undefined) return { value: existing, created: false };
  await makePrivateDir(dirname(path));
  const value = await make();
  try {
    await Deno.writeTextFile(path, value, { createNew: true, mode: 0o600 });
  } catch (error) {
    // Another process created it between our read and our write: theirs wins.
    if (error instanceof Deno.errors.AlreadyExists) {
      return { value: (await readSecret(path)) ?? "", created: false };
    }
    throw error;
  }
  return { value, created: true };
}

async function readSecret(path: string): Promise<string | undefined> {
  const info = await statIfAny(path);
  if (info === undefined) return undefined;
  if (info.mode !== null && (info.mode & 0o077) !== 0) await Deno.chmod(path, 0o600);
  return await Deno.readTextFile(path);
}
