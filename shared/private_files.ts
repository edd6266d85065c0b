/**
 * Private files and folders: folders are created 0700 and files 0600 by the call that creates
 * them (the mode is passed to `mkdir`/`open`, so there is no moment when they are readable by
 * others and nothing is chmod-ed afterwards; the umask can only remove bits).
 *
 * @module
 */
import { closeSync, constants, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";

/** Mode of a private folder. */
export const PRIVATE_DIR_MODE = 0o700;
/** Mode of a private file. */
export const PRIVATE_FILE_MODE = 0o600;

/** Creates `path` and every missing parent with mode 0700; an existing folder is left as it is. */
export async function makePrivateDir(path: string): Promise<void> {
  await Deno.mkdir(path, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/** {@link makePrivateDir}, synchronously (for code that opens files synchronously). */
export function makePrivateDirSync(path: string): void {
  mkdirSync(path, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/**
 * Makes sure `path` exists, creating it empty with mode 0600 (and its folder 0700) if missing.
 * An existing file is left untouched. SQLite gives its `-wal` and `-shm` files the mode of the
 * database file, so a database file created here keeps those private too.
 */
export function ensurePrivateFileSync(path: string): void {
  makePrivateDirSync(dirname(path));
  closeSync(openSync(path, constants.O_CREAT | constants.O_WRONLY, PRIVATE_FILE_MODE));
}

/**
 * Replaces `path` with `data` as a whole: written to a new 0600 file beside it, then renamed
 * over it, so a reader (or a crash) sees the old content or the new, never half of either.
 * The folder is created 0700 if missing.
 */
export async function writePrivateFileAtomic(
  path: string,
  data: string | Uint8Array,
): Promise<void> {
  await makePrivateDir(dirname(path));
  const temp = `${path}.${crypto.randomUUID()}.tmp`;
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  try {
    await Deno.writeFile(temp, bytes, { createNew: true, mode: PRIVATE_FILE_MODE });
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}

/** What is at `path` (its info), or undefined when nothing is. */
export async function statIfAny(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}
