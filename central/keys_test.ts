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
import { CentralStore } from "./store.ts";

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
        retiredAt: null,
      },
      {
        cpId: "CP-1",
        keyVersion: 1,
        wrapped: one.login.wrappedKey,
        state: "retired",
        retiredAt: null,
      },
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
      keys: [{
        cpId: "CP-1",
        keyVersion: 1,
        wrapped: one.login.wrappedKey,
        state: "live",
        retiredAt: null,
      }],
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

Deno.test("keys: a retired version is forgotten after the grace, with its marks and its stored row", async () => {
  let now = Date.parse("2026-03-01T10:00:00.000Z");
  const store = CentralStore.open(":memory:");
  try {
    const key = await master();
    const vault = await KeyVault.open(
      key,
      { keys: [], marks: [] },
      (cp) => store.nextKeyVersion(cp),
      () => now,
    );
    const login = async () => {
      const { login, monitorKey } = await monitorLogin(vault, "CP-1");
      const at = new Date(now).toISOString();
      store.commit([{ type: "save_key", cpId: "CP-1", ...login, at }]);
      vault.install("CP-1", login);
      return monitorKey;
    };
    const first = await login();
    const opened = await sealEnvelope(first, header(1, 1), {});
    await openEnvelope(vault.keyring, opened, { channel: "cp.telemetry", guard: vault.guard });
    store.commit([], { cp: "CP-1", kv: 1, channel: "cp.telemetry", seq: 1 });
    now += 1000;
    await login(); // version 1 retired now

    now += 119_999;
    assert.deepEqual(vault.forgetExpired(120_000), []);
    now += 1;
    const forgotten = vault.forgetExpired(120_000);
    assert.deepEqual(forgotten, [{ cp: "CP-1", kv: 1 }]);
    store.forgetKeys(forgotten);
    assert.equal(vault.guard.highWater("CP-1", 1, "cp.telemetry"), undefined);
    assert.deepEqual(store.keyStates("CP-1"), [{ keyVersion: 2, state: "live" }]);
    const late = await sealEnvelope(first, header(1, 2), {});
    await assert.rejects(
      openEnvelope(vault.keyring, late, { channel: "cp.telemetry" }),
      (e: Error & { reason?: string }) => e.reason === "expired_kv",
    );
    const recovered = store.recover(new Date(now));
    assert.deepEqual(recovered.keys.map((k) => k.keyVersion), [2]);
    assert.deepEqual(recovered.marks, []);
    assert.equal(store.nextKeyVersion("CP-1"), 3, "versions keep growing");
  } finally {
    store.close();
  }
});

Deno.test("keys: a restarted vault keeps a retired key's grace from its stored retirement", async () => {
  const now = Date.parse("2026-03-01T10:00:00.000Z");
  const store = CentralStore.open(":memory:");
  try {
    const key = await master();
    const vault = await KeyVault.open(key, { keys: [], marks: [] }, () => 1, () => now);
    const one = await monitorLogin(vault, "CP-1");
    const two = await monitorLogin(vault, "CP-1");
    const at = (ms: number) => new Date(ms).toISOString();
    store.commit([{ type: "save_key", cpId: "CP-1", ...one.login, at: at(now - 200_000) }]);
    store.commit([{ type: "save_key", cpId: "CP-1", ...two.login, at: at(now - 100_000) }]);
    const recovered = store.recover(new Date(now));
    assert.equal(recovered.keys.find((k) => k.state === "retired")?.retiredAt, now - 100_000);
    const again = await KeyVault.open(key, recovered, () => 3, () => now);
    assert.equal(again.keyring.state("CP-1", 1), "retired");
    assert.deepEqual(again.forgetExpired(100_001), [], "retired 100 s ago, not at the restart");
    assert.deepEqual(again.forgetExpired(100_000), [{ cp: "CP-1", kv: 1 }]);
  } finally {
    store.close();
  }
});

Deno.test("keys: a revocation wipes the stored wrapped keys but keeps the versions", () => {
  const store = CentralStore.open(":memory:");
  try {
    const at = "2026-03-01T10:00:00.000Z";
    store.commit([{ type: "save_key", cpId: "CP-1", keyVersion: 1, wrappedKey: "w1", at }]);
    store.commit([{ type: "save_key", cpId: "CP-1", keyVersion: 2, wrappedKey: "w2", at }]);
    store.commit([{ type: "revoke_keys", cpId: "CP-1", at }]);
    const rows = store.db.prepare("SELECT wrapped, state FROM cp_keys WHERE cp_id = 'CP-1'")
      .all() as { wrapped: string; state: string }[];
    assert.deepEqual(rows.map((r) => [r.wrapped, r.state]), [["", "revoked"], ["", "revoked"]]);
    assert.equal(store.nextKeyVersion("CP-1"), 3);
  } finally {
    store.close();
  }
});
