/**
 * Central's own secrets for its REST callers: the admin token and the weather service key, each
 * given (option or env), or read from its file, or generated into it with mode 0600. The log
 * names the file, never the secret.
 *
 * @module
 */
import { dirname } from "node:path";
import { generateCredential, readOrCreateSecretFile } from "../shared/secret_file.ts";
import { MIN_ADMIN_TOKEN_CHARS } from "./config.ts";

/** Where the admin token came from (the token itself is never logged). */
export interface AdminToken {
  /** The token. */
  readonly token: string;
  /** `given` (option or env) or `file`. */
  readonly source: "given" | "file";
  /** The file, for `file`. */
  readonly path?: string;
}

/** Where the weather service key came from (the key itself is never logged). */
export interface WeatherServiceKey {
  /** The key. */
  readonly key: string;
  /** `given` (option or env) or `file`. */
  readonly source: "given" | "file";
  /** The file, for `file`. */
  readonly path?: string;
}

/**
 * The admin token: `given` if set, else the one in `path`, else a new random one written there
 * with mode 0600 (the log names the file, never the token).
 */
export async function resolveAdminToken(
  given: string | undefined,
  path: string,
): Promise<AdminToken> {
  if (given !== undefined && given !== "") {
    if (given.length < MIN_ADMIN_TOKEN_CHARS) {
      throw new Error(
        `the admin token (CENTRAL_ADMIN_TOKEN) must be at least ${MIN_ADMIN_TOKEN_CHARS} ` +
          `characters, got ${given.length}; unset it to have one generated`,
      );
    }
    return { token: given, source: "given" };
  }
  const fresh = crypto.getRandomValues(new Uint8Array(32)).toBase64({ alphabet: "base64url" })
    .replace(/=+$/, "");
  await Deno.mkdir(dirname(path), { recursive: true, mode: 0o700 });
  try {
    await Deno.writeTextFile(path, `${fresh}\n`, { createNew: true, mode: 0o600 });
    return { token: fresh, source: "file", path };
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  const info = await Deno.stat(path);
  if (info.mode !== null && (info.mode & 0o077) !== 0) await Deno.chmod(path, 0o600);
  const token = (await Deno.readTextFile(path)).trim();
  if (token.length < MIN_ADMIN_TOKEN_CHARS) {
    throw new Error(
      `admin token file ${path} holds ${token.length} characters, fewer than ` +
        `${MIN_ADMIN_TOKEN_CHARS}: delete it to have one generated, or fill it`,
    );
  }
  return { token, source: "file", path };
}

/**
 * The weather service key: `given` if set, else the one in `path`, else a new random one
 * written there with mode 0600. The weather office does the same with the same default file,
 * so whichever starts first creates the key and the other reads it.
 */
export async function resolveWeatherServiceKey(
  given: string | undefined,
  path: string,
): Promise<WeatherServiceKey> {
  if (given !== undefined && given !== "") return { key: given, source: "given" };
  const key = (await readOrCreateSecretFile(path, generateCredential)).value.trim();
  if (key === "") {
    throw new Error(`weather service key file ${path} is empty: delete it or fill it`);
  }
  return { key, source: "file", path };
}
