import assert from "node:assert/strict";
import {
  CpKeyError,
  deriveCpKey,
  exportEcdhPublicKey,
  generateEcdhKeyPair,
  importEcdhPublicKey,
} from "../shared/cp_key.ts";
import { openEnvelope, sealEnvelope } from "../shared/envelope.ts";
import { KeyVault } from "./keys.ts";

async function master(): Promise<CryptoKey> {
  return await crypto.subtle.importKey(
    "raw",
    crypto.getRandomValues(new Uint8Array(32)),
    { name: "AES-GCM", length: 256 },
    false,
    ["wrapKey", "unwrapKey"],
  );
}

/** The monitor's side of a login against `vault`: its key, derived from Central's answer. */
async function monitorLogin(vault: KeyVault, cpId: string) {
  const pair = await generateEcdhKeyPair();
  const login = await vault.agree(cpId, await exportEcdhPublicKey(pair.publicKey));
  const monitorKey = await deriveCpKey({
    privateKey: pair.privateKey,
    peerPublicKey: await importEcdhPublicKey(login.ecdhPublicKey),
    salt: login.salt,
    cpId,
    keyVersion: login.keyVersion,
  });
  return { login, monitorKey };
}

const header = (kv: number, seq: number) => ({ cp: "CP-1", kv, seq, channel: "cp.telemetry" });

Deno.test("keys: both sides derive the same key; versions grow; the vault keeps the live one", async () => {
  const stored = new Map<string, number>();
  const vault = await KeyVault.open(
    await master(),
    { keys: [], marks: [] },
    (cp) => (stored.get(cp) ?? 0) + 1,
  );
  const first = await monitorLogin(vault, "CP-1");
  assert.equal(first.login.keyVersion, 1);
  assert.equal(first.login.key.extractable, false, "Central keeps a non-extractable key");
  vault.install("CP-1", first.login);
  const envelope = await sealEnvelope(first.monitorKey, header(1, 1), { hello: 1 });
  assert.deepEqual(await openEnvelope(vault.keyring, envelope, { channel: "cp.telemetry" }), {
    hello: 1,
  });

  // Two logins in flight at once still get different versions.
  const [a, b] = await Promise.all([monitorLogin(vault, "CP-1"), monitorLogin(vault, "CP-1")]);
  assert.deepEqual([a.login.keyVersion, b.login.keyVersion].sort(), [2, 3]);
  vault.install("CP-1", b.login);
  assert.equal(vault.keyring.live("CP-1")?.kv, b.login.keyVersion);
  assert.equal(vault.keyring.state("CP-1", 1), "retired", "still opens the backlog");
});

Deno.test("keys: a restarted vault unwraps stored keys and restores the replay marks", async () => {
  const key = await master();
  const vault = await KeyVault.open(key, { keys: [], marks: [] }, () => 1);
  const one = await monitorLogin(vault, "CP-1");
  const two = await monitorLogin(vault, "CP-1");
  const again = await KeyVault.open(key, {
    keys: [
      {
        cpId: "CP-1",
        keyVersion: two.login.keyVersion,
        wrapped: two.login.wrappedKey,
        state: "live",
      },
      { cpId: "CP-1", keyVersion: 1, wrapped: one.login.wrappedKey, state: "retired" },
    ],
    marks: [{ cp: "CP-1", kv: 1, channel: "cp.telemetry", seq: 7 }],
  }, () => 3);
  assert.equal(again.keyring.live("CP-1")?.kv, two.login.keyVersion);
  const old = await sealEnvelope(one.monitorKey, header(1, 8), { backlog: true });
  assert.deepEqual(await openEnvelope(again.keyring, old, { channel: "cp.telemetry" }), {
    backlog: true,
  });
  assert.equal(again.guard.highWater("CP-1", 1, "cp.telemetry"), 7);

  await assert.rejects(
    KeyVault.open(await master(), {
      keys: [{ cpId: "CP-1", keyVersion: 1, wrapped: one.login.wrappedKey, state: "live" }],
      marks: [],
    }, () => 2),
    CpKeyError,
    "another master key cannot unwrap",
  );
});

Deno.test("keys: a bad monitor public key is refused", async () => {
  const vault = await KeyVault.open(await master(), { keys: [], marks: [] }, () => 1);
  await assert.rejects(vault.agree("CP-1", btoa("x".repeat(65))), CpKeyError);
});
