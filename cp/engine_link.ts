/**
 * Who may talk to an engine: the monitor ↔ engine link is authenticated both ways with a secret
 * the engine makes at each start. A process that hosts both (the fleet, tests) hands the bytes
 * over in memory; separate processes share them through a 0600 file in a 0700 folder, which
 * only the user running the CP can read.
 *
 * The opening, right after the framed ENQ/ACK, proves knowledge of the secret without sending it:
 *
 * 1. engine → monitor `LINK_CHALLENGE{nonce}` (fresh random bytes);
 * 2. monitor → engine `LINK_PROOF{nonce, proof}`: its own nonce and
 *    HMAC-SHA-256(secret, "monitor" + both nonces);
 * 3. engine → monitor `LINK_OK{proof}`: HMAC-SHA-256(secret, "engine" + both nonces).
 *
 * The engine takes no other frame before step 2 checks out, so a stranger cannot hand it a key or
 * revoke one; the monitor sends no key before step 3 checks out, so a stranger squatting on the
 * engine's port while it is down cannot collect one. Fresh nonces on both sides keep a recorded
 * opening from being replayed in either direction.
 *
 * @module
 */

import { awakeTimeout } from "../shared/awake_timeout.ts";
import { decodeBase64, encodeBase64 } from "../shared/encoding.ts";
import type { FramedConn } from "../shared/framed_conn.ts";
import {
  build,
  engineToMonitorSchema,
  LINK_NONCE_BYTES,
  monitorToEngineSchema,
  parseMessage,
} from "../shared/messages.ts";
import { writePrivateFileAtomic } from "../shared/private_files.ts";

/** Bytes of a link secret. */
export const LINK_SECRET_BYTES = 32;
/** How long either side waits for the other's next opening frame. */
export const LINK_OPENING_TIMEOUT_MS = 2000;

/** The link secret is missing or unreadable, or the peer failed to prove it holds it. */
export class EngineLinkError extends Error {
  /** Always `"EngineLinkError"`. */
  override name = "EngineLinkError";
}

/** Where a monitor finds its engine's secret: the bytes, or the file the engine wrote them to. */
export type LinkSecretSource = Uint8Array | { readonly file: string };

/** A fresh random secret for one engine start. */
export function newLinkSecret(): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(LINK_SECRET_BYTES));
}

/** Writes `secret` to `path` (0600, its folder 0700), replacing a previous start's whole. */
export async function writeLinkSecret(path: string, secret: Uint8Array): Promise<void> {
  await writePrivateFileAtomic(path, `${encodeBase64(secret)}\n`);
}

/**
 * The secret from `source`; a file is read at every call, since the engine writes a new one at
 * each start.
 * @throws {EngineLinkError} if the file is missing or does not hold a secret.
 */
export async function readLinkSecret(source: LinkSecretSource): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source;
  let text: string;
  try {
    text = await Deno.readTextFile(source.file);
  } catch (error) {
    throw new EngineLinkError(
      `cannot read the engine's link secret ${source.file}: ${(error as Error).message}`,
    );
  }
  const bytes = decodeBase64(text.trim());
  if (bytes === null || bytes.length !== LINK_SECRET_BYTES) {
    throw new EngineLinkError(`${source.file} does not hold an engine link secret`);
  }
  return bytes;
}

/** An HMAC key over a link secret, proving and checking either side's part of the opening. */
export class LinkKey {
  readonly #key: CryptoKey;

  private constructor(key: CryptoKey) {
    this.#key = key;
  }

  /** Imports `secret` (not extractable). */
  static async of(secret: Uint8Array): Promise<LinkKey> {
    if (secret.length !== LINK_SECRET_BYTES) {
      throw new EngineLinkError(`a link secret has ${LINK_SECRET_BYTES} bytes`);
    }
    const key = await crypto.subtle.importKey(
      "raw",
      new Uint8Array(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    return new LinkKey(key);
  }

  /** The proof of `role` for this pair of nonces (base64). */
  async prove(role: LinkRole, engineNonce: string, monitorNonce: string): Promise<string> {
    const mac = await crypto.subtle.sign(
      "HMAC",
      this.#key,
      transcript(role, engineNonce, monitorNonce),
    );
    return encodeBase64(new Uint8Array(mac));
  }

  /** Whether `proof` is `role`'s proof for these nonces (compared in constant time). */
  async verify(
    role: LinkRole,
    engineNonce: string,
    monitorNonce: string,
    proof: string,
  ): Promise<boolean> {
    const mac = decodeBase64(proof);
    if (mac === null) return false;
    return await crypto.subtle.verify(
      "HMAC",
      this.#key,
      mac,
      transcript(role, engineNonce, monitorNonce),
    );
  }
}

/** Which side proves: the roles get different proofs, so one cannot be reflected as the other. */
export type LinkRole = "monitor" | "engine";

function transcript(
  role: LinkRole,
  engineNonce: string,
  monitorNonce: string,
): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(
    `evcharging-engine-link|v1|${role}|${engineNonce}|${monitorNonce}`,
  );
}

function newNonce(): string {
  return encodeBase64(crypto.getRandomValues(new Uint8Array(LINK_NONCE_BYTES)));
}

/** The peer's next frame within {@link LINK_OPENING_TIMEOUT_MS}; closes `conn` if none comes. */
async function nextFrame(conn: FramedConn, what: string): Promise<unknown> {
  let cancelTimeout = () => {};
  const timeout = new Promise<never>((_, reject) => {
    cancelTimeout = awakeTimeout(() => {
      conn.close();
      reject(new EngineLinkError(`no ${what} within ${LINK_OPENING_TIMEOUT_MS} ms`));
    }, LINK_OPENING_TIMEOUT_MS);
  });
  try {
    const next = await Promise.race([conn[Symbol.asyncIterator]().next(), timeout]);
    if (next.done) throw new EngineLinkError(`the peer closed before its ${what}`);
    return next.value;
  } finally {
    cancelTimeout();
  }
}

/**
 * The engine's side of the opening: challenges the monitor and checks its proof.
 * @throws {EngineLinkError} (or the connection's error) if the peer does not prove the secret;
 * the caller closes the connection.
 */
export async function acceptMonitorLink(conn: FramedConn, key: LinkKey): Promise<void> {
  const engineNonce = newNonce();
  await conn.send(build(engineToMonitorSchema, "LINK_CHALLENGE", { nonce: engineNonce }));
  const parsed = parseMessage(monitorToEngineSchema, await nextFrame(conn, "LINK_PROOF"));
  if (!parsed.ok || parsed.value.type !== "LINK_PROOF") {
    throw new EngineLinkError("the first frame was not LINK_PROOF");
  }
  const { nonce: monitorNonce, proof } = parsed.value;
  if (!(await key.verify("monitor", engineNonce, monitorNonce, proof))) {
    throw new EngineLinkError("wrong LINK_PROOF: the peer does not hold this start's secret");
  }
  await conn.send(build(engineToMonitorSchema, "LINK_OK", {
    proof: await key.prove("engine", engineNonce, monitorNonce),
  }));
}

/**
 * The monitor's side of the opening: answers the engine's challenge and checks the engine's
 * proof, so no key goes to a stranger listening on the engine's port.
 * @throws {EngineLinkError} (or the connection's error) if the engine does not prove the secret.
 */
export async function openEngineLink(conn: FramedConn, key: LinkKey): Promise<void> {
  const challenge = parseMessage(engineToMonitorSchema, await nextFrame(conn, "LINK_CHALLENGE"));
  if (!challenge.ok || challenge.value.type !== "LINK_CHALLENGE") {
    throw new EngineLinkError("the engine did not open with LINK_CHALLENGE");
  }
  const engineNonce = challenge.value.nonce;
  const monitorNonce = newNonce();
  await conn.send(build(monitorToEngineSchema, "LINK_PROOF", {
    nonce: monitorNonce,
    proof: await key.prove("monitor", engineNonce, monitorNonce),
  }));
  const ok = parseMessage(engineToMonitorSchema, await nextFrame(conn, "LINK_OK"));
  if (!ok.ok || ok.value.type !== "LINK_OK") {
    throw new EngineLinkError("the engine did not answer with LINK_OK");
  }
  if (!(await key.verify("engine", engineNonce, monitorNonce, ok.value.proof))) {
    throw new EngineLinkError(
      "wrong LINK_OK: the peer on the engine's port does not hold its secret",
    );
  }
}
