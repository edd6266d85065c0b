import assert from "node:assert/strict";
import fc from "fast-check";
import { exportCpKey, importCpKey } from "./cp_key.ts";
import { decodeBase64, encodeBase64 } from "./encoding.ts";
import {
  CpKeyring,
  decodeEnvelope,
  type Envelope,
  envelopeAad,
  EnvelopeError,
  type EnvelopeErrorReason,
  type EnvelopeHeader,
  openDecodedEnvelope,
  openEnvelope,
  parseEnvelope,
  ReplayGuard,
  sealEnvelope,
  SeqCounter,
} from "./envelope.ts";

async function randomKey(extractable = false): Promise<CryptoKey> {
  return await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, extractable, [
    "encrypt",
    "decrypt",
  ]);
}

const HEADER: EnvelopeHeader = { cp: "CP-001", kv: 1, seq: 10, channel: "cp.telemetry" };
const OPEN = { channel: HEADER.channel };

/** Assert that `promise` rejects with an EnvelopeError of `reason`. */
async function rejectsWith(
  promise: Promise<unknown>,
  reason: EnvelopeErrorReason,
  what = "",
): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof EnvelopeError, `${what}: not an EnvelopeError: ${err}`);
    assert.equal(err.reason, reason, `${what}: ${err.message}`);
    return true;
  }, what);
}

function flipBit(base64: string, bit: number): string {
  const bytes = decodeBase64(base64)!;
  bytes[bit >> 3] ^= 1 << (bit & 7);
  return encodeBase64(bytes);
}

Deno.test("a sealed envelope has the v1 wire shape", async () => {
  const env = await sealEnvelope(await randomKey(), HEADER, { type: "STATUS" });
  assert.deepEqual(Object.keys(env).sort(), ["cp", "ct", "iv", "kv", "seq", "v"]);
  assert.equal(env.v, 1);
  assert.equal(env.cp, "CP-001");
  assert.equal(env.kv, 1);
  assert.equal(env.seq, 10);
  assert.equal(decodeBase64(env.iv)?.length, 12);
  assert.equal(decodeBase64(env.ct)?.length, JSON.stringify({ type: "STATUS" }).length + 16);
  assert.deepEqual(parseEnvelope(JSON.parse(JSON.stringify(env))), env);
});

Deno.test("the wire form is standard AES-256-GCM: Web Crypto opens what seal makes, and the reverse", async () => {
  const key = await randomKey();
  const payload = { type: "SUPPLY", kwh: 1.25, note: "ñ €" };
  const sealed = await sealEnvelope(key, HEADER, payload);
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: decodeBase64(sealed.iv)!, additionalData: envelopeAad(HEADER) },
    key,
    decodeBase64(sealed.ct)!,
  );
  assert.deepEqual(JSON.parse(new TextDecoder().decode(plain)), payload);

  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: envelopeAad(HEADER) },
    key,
    new TextEncoder().encode(JSON.stringify(payload)),
  );
  const web: Envelope = { ...sealed, iv: encodeBase64(iv), ct: encodeBase64(new Uint8Array(ct)) };
  assert.deepEqual(await openEnvelope(key, web, OPEN), payload);
  assert.deepEqual(openDecodedEnvelope(key, decodeEnvelope(web), OPEN), payload);
});

Deno.test("seal and open refuse a key that is not an AES-256-GCM key for that use", async () => {
  const hmac = await crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const aes128 = await crypto.subtle.generateKey({ name: "AES-GCM", length: 128 }, false, [
    "encrypt",
    "decrypt",
  ]);
  const encryptOnly = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
    "encrypt",
  ]);
  for (const key of [hmac, aes128]) {
    await assert.rejects(sealEnvelope(key, HEADER, {}), TypeError);
  }
  const sealed = await sealEnvelope(encryptOnly, HEADER, {});
  await assert.rejects(openEnvelope(encryptOnly, sealed, OPEN), TypeError);
});

Deno.test("any JSON payload round-trips through seal and open", async () => {
  const key = await randomKey();
  const header = fc.record({
    cp: fc.stringMatching(/^[A-Za-z0-9_-]{3,64}$/),
    kv: fc.maxSafeNat(),
    seq: fc.maxSafeNat(),
    channel: fc.constantFrom("tcp", "cp.telemetry", "cp.commands"),
  });
  await fc.assert(
    fc.asyncProperty(header, fc.jsonValue(), async (h, payload) => {
      const wire = JSON.parse(JSON.stringify(await sealEnvelope(key, h, payload)));
      const out = await openEnvelope(key, wire, { channel: h.channel, expectCp: h.cp });
      assert.deepEqual(out, JSON.parse(JSON.stringify(payload))); // JSON semantics (-0 → 0)
    }),
    { numRuns: 200 },
  );
});

Deno.test("flipping any single bit of iv makes open fail with tag", async () => {
  const key = await randomKey();
  const env = await sealEnvelope(key, HEADER, { type: "STOP" });
  for (let bit = 0; bit < 12 * 8; bit++) {
    const iv = flipBit(env.iv, bit);
    await rejectsWith(openEnvelope(key, { ...env, iv }, OPEN), "tag", `iv bit ${bit}`);
  }
});

Deno.test("flipping any single bit of ct (ciphertext or tag) makes open fail with tag", async () => {
  const key = await randomKey();
  const env = await sealEnvelope(key, HEADER, { type: "STOP" });
  const bits = decodeBase64(env.ct)!.length * 8;
  for (let bit = 0; bit < bits; bit++) {
    const ct = flipBit(env.ct, bit);
    await rejectsWith(openEnvelope(key, { ...env, ct }, OPEN), "tag", `ct bit ${bit}`);
  }
});

Deno.test("changing any AAD field (cp, kv, seq, channel) makes open fail with tag", async () => {
  const key = await randomKey();
  const env = await sealEnvelope(key, HEADER, { type: "STOP" });
  const opts = { channel: HEADER.channel };
  await rejectsWith(openEnvelope(key, { ...env, cp: "CP-002" }, opts), "tag", "cp");
  await rejectsWith(openEnvelope(key, { ...env, kv: 2 }, opts), "tag", "kv");
  await rejectsWith(openEnvelope(key, { ...env, seq: 11 }, opts), "tag", "seq");
  await rejectsWith(openEnvelope(key, env, { channel: "tcp" }), "tag", "channel");
  await rejectsWith(openEnvelope(key, env, { channel: "cp.commands" }), "tag", "channel");
  assert.deepEqual(await openEnvelope(key, env, opts), { type: "STOP" });
});

Deno.test("an envelope from another CP than expected is rejected with cp_mismatch", async () => {
  const key = await randomKey();
  const env = await sealEnvelope(key, HEADER, { type: "STATUS" });
  await rejectsWith(
    openEnvelope(key, env, { channel: HEADER.channel, expectCp: "CP-002" }),
    "cp_mismatch",
  );
});

Deno.test("forgery: an envelope sealed under a random key or another CP's key is rejected", async () => {
  const ring = new CpKeyring();
  const keyA = await randomKey();
  const keyB = await randomKey();
  ring.add("CP-001", 1, keyA);
  ring.add("CP-002", 1, keyB);
  const opts = { channel: "cp.telemetry", expectCp: "CP-001" };

  const underRandom = await sealEnvelope(await randomKey(), HEADER, { type: "SUPPLY_END" });
  await rejectsWith(openEnvelope(ring, underRandom, opts), "tag", "random key");
  await rejectsWith(openEnvelope(keyA, underRandom, opts), "tag", "random key, single key");

  // CP-002 claims to be CP-001: its key does not authenticate for CP-001.
  const claimsA = await sealEnvelope(keyB, HEADER, { type: "SUPPLY_END" });
  await rejectsWith(openEnvelope(ring, claimsA, opts), "tag", "other CP's key");
  // CP-002 honest about its id, but on CP-001's partition key.
  const asB = await sealEnvelope(keyB, { ...HEADER, cp: "CP-002" }, { type: "SUPPLY_END" });
  await rejectsWith(openEnvelope(ring, asB, opts), "cp_mismatch", "other CP's envelope");
});

Deno.test("the keyring rejects an unknown kv with unknown_kv and a revoked kv with revoked", async () => {
  const ring = new CpKeyring();
  const v1 = await randomKey();
  const v2 = await randomKey();
  ring.add("CP-001", 1, v1);
  ring.add("CP-001", 2, v2); // a new login: v1 retired
  assert.equal(ring.state("CP-001", 1), "retired");
  assert.equal(ring.live("CP-001")?.kv, 2);
  const opts = { channel: "cp.telemetry" };

  const oldMsg = await sealEnvelope(v1, { ...HEADER, kv: 1 }, { type: "SUPPLY_END" });
  assert.deepEqual(await openEnvelope(ring, oldMsg, opts), { type: "SUPPLY_END" }, "retired opens");

  const unknown = await sealEnvelope(v1, { ...HEADER, kv: 9 }, {});
  await rejectsWith(openEnvelope(ring, unknown, opts), "unknown_kv");
  const otherCp = await sealEnvelope(v1, { ...HEADER, cp: "CP-404" }, {});
  await rejectsWith(openEnvelope(ring, otherCp, opts), "unknown_kv");

  ring.revoke("CP-001", 1);
  await rejectsWith(openEnvelope(ring, oldMsg, opts), "revoked");
  assert.throws(() => ring.add("CP-001", 1, v1), /revoked/);

  ring.revoke("CP-001");
  assert.equal(ring.live("CP-001"), undefined);
  const current = await sealEnvelope(v2, { ...HEADER, kv: 2 }, {});
  await rejectsWith(openEnvelope(ring, current, opts), "revoked");

  ring.forget("CP-001", 2);
  await rejectsWith(openEnvelope(ring, current, opts), "unknown_kv");
});

Deno.test("a replayed seq is rejected with replay, and so is an older one", async () => {
  const key = await randomKey();
  const guard = new ReplayGuard();
  const opts = { channel: "cp.telemetry", guard };
  const seal = (seq: number) => sealEnvelope(key, { ...HEADER, seq }, { seq });
  const e5 = await seal(5);
  const e6 = await seal(6);
  assert.deepEqual(await openEnvelope(key, e5, opts), { seq: 5 });
  await rejectsWith(openEnvelope(key, e5, opts), "replay", "same seq");
  assert.deepEqual(await openEnvelope(key, e6, opts), { seq: 6 });
  await rejectsWith(openEnvelope(key, e5, opts), "replay", "older seq");
  await rejectsWith(openEnvelope(key, e6, opts), "replay", "same seq again");
  assert.equal(guard.highWater("CP-001", 1, "cp.telemetry"), 6);
});

Deno.test("two concurrent opens of the same envelope accept it once", async () => {
  const key = await randomKey();
  const guard = new ReplayGuard();
  const env = await sealEnvelope(key, HEADER, {});
  const results = await Promise.allSettled([
    openEnvelope(key, env, { channel: HEADER.channel, guard }),
    openEnvelope(key, env, { channel: HEADER.channel, guard }),
  ]);
  assert.deepEqual(results.map((r) => r.status).sort(), ["fulfilled", "rejected"]);
});

Deno.test("a forged envelope does not move the replay mark", async () => {
  const key = await randomKey();
  const guard = new ReplayGuard();
  const opts = { channel: HEADER.channel, guard };
  const forged = await sealEnvelope(await randomKey(), { ...HEADER, seq: 1_000_000 }, {});
  await rejectsWith(openEnvelope(key, forged, opts), "tag");
  assert.equal(guard.highWater("CP-001", 1, HEADER.channel), undefined);
  await openEnvelope(key, await sealEnvelope(key, { ...HEADER, seq: 1 }, {}), opts);
});

Deno.test("replay marks are kept per channel, so tcp and Kafka do not interfere", async () => {
  const key = await randomKey();
  const guard = new ReplayGuard();
  const counter = new SeqCounter(() => 0);
  const send = async (channel: string) => {
    const seq = counter.next("CP-001", 1); // one counter across channels
    return await sealEnvelope(key, { cp: "CP-001", kv: 1, seq, channel }, { channel });
  };
  const viaKafka = await send("cp.commands");
  const viaTcp = await send("tcp");
  // The socket is faster than Kafka: seq 1 (tcp) arrives before seq 0 (Kafka).
  await openEnvelope(key, viaTcp, { channel: "tcp", guard });
  await openEnvelope(key, viaKafka, { channel: "cp.commands", guard });
  await rejectsWith(openEnvelope(key, viaTcp, { channel: "tcp", guard }), "replay");
  // Moving an envelope to the other channel does not get past its mark: the tag fails.
  await rejectsWith(openEnvelope(key, viaTcp, { channel: "cp.commands", guard }), "tag");
});

Deno.test("seq continues after the guard is restored from a snapshot", async () => {
  const key = await randomKey();
  const guard = new ReplayGuard();
  const opts = (g: ReplayGuard) => ({ channel: HEADER.channel, guard: g });
  const sent: Envelope[] = [];
  for (let seq = 1; seq <= 7; seq++) {
    sent.push(await sealEnvelope(key, { ...HEADER, seq }, { seq }));
  }
  for (const env of sent.slice(0, 5)) await openEnvelope(key, env, opts(guard));

  const stored = JSON.stringify(guard.snapshot()); // as Central would persist it
  assert.deepEqual(JSON.parse(stored), [{ cp: "CP-001", kv: 1, channel: HEADER.channel, seq: 5 }]);
  const restarted = new ReplayGuard();
  restarted.restore(JSON.parse(stored));

  // A consumer re-reading after a crash gets 1..5 again: all rejected; 6 and 7 go through.
  for (const env of sent.slice(0, 5)) {
    await rejectsWith(openEnvelope(key, env, opts(restarted)), "replay", `seq ${env.seq}`);
  }
  assert.deepEqual(await openEnvelope(key, sent[5], opts(restarted)), { seq: 6 });
  restarted.restore([{ cp: "CP-001", kv: 1, channel: HEADER.channel, seq: 2 }]); // lower: ignored
  assert.equal(restarted.highWater("CP-001", 1, HEADER.channel), 6);

  restarted.forget("CP-001", 1); // key version retired for good
  assert.deepEqual(restarted.snapshot(), []);
});

Deno.test("the sender's seq strictly increases per (cp, kv) and stays above a restart", () => {
  let now = 1000;
  const counter = new SeqCounter(() => now);
  assert.deepEqual([1, 2, 3].map(() => counter.next("CP-001", 1)), [1000, 1001, 1002]);
  assert.equal(counter.next("CP-001", 2), 1000, "each kv has its own sequence");
  now = 500; // the clock went back: still increasing
  assert.equal(counter.next("CP-001", 1), 1003);
  counter.forget("CP-001", 1);
  now = 2000; // a restarted sender starts from the clock, above what it sent before
  assert.equal(new SeqCounter(() => now).next("CP-001", 1), 2000);
  const real = new SeqCounter();
  const a = real.next("CP-001", 1);
  assert.ok(real.next("CP-001", 1) > a && Number.isSafeInteger(a));
});

Deno.test("malformed envelopes are rejected with malformed", async () => {
  const key = await randomKey();
  const good = await sealEnvelope(key, HEADER, { type: "STATUS" });
  const without = (field: keyof Envelope) => {
    const copy: Record<string, unknown> = { ...good };
    delete copy[field];
    return copy;
  };
  const huge = "A".repeat(4 * 1024 * 1024);
  const cases: Record<string, unknown> = {
    "null": null,
    "number": 42,
    "string": JSON.stringify(good),
    "array": [good],
    "empty object": {},
    "missing v": without("v"),
    "missing cp": without("cp"),
    "missing kv": without("kv"),
    "missing seq": without("seq"),
    "missing iv": without("iv"),
    "missing ct": without("ct"),
    "extra field": { ...good, extra: 1 },
    "v:2": { ...good, v: 2 },
    "v as string": { ...good, v: "1" },
    "cp too short": { ...good, cp: "ab" },
    "cp too long": { ...good, cp: "a".repeat(65) },
    "cp with a bar": { ...good, cp: "CP|001" },
    "cp as number": { ...good, cp: 1001 },
    "huge cp": { ...good, cp: huge },
    "kv negative": { ...good, kv: -1 },
    "kv fractional": { ...good, kv: 1.5 },
    "kv as string": { ...good, kv: "1" },
    "kv unsafe": { ...good, kv: 2 ** 53 },
    "seq negative": { ...good, seq: -1 },
    "seq NaN": { ...good, seq: NaN },
    "seq as string": { ...good, seq: "10" },
    "iv not base64": { ...good, iv: "!!!!!!!!!!!!!!!!" },
    "iv with whitespace": { ...good, iv: good.iv.slice(0, 15) + " " },
    "iv 11 bytes": { ...good, iv: encodeBase64(new Uint8Array(11)) },
    "iv 16 bytes": { ...good, iv: encodeBase64(new Uint8Array(16)) },
    "iv as bytes": { ...good, iv: [...decodeBase64(good.iv)!] },
    "huge iv": { ...good, iv: huge },
    "ct not base64": { ...good, ct: good.ct.replace(/.$/, "*") },
    "ct unpadded": { ...good, ct: encodeBase64(new Uint8Array(17)).replace(/=+$/, "") },
    "ct 15 bytes": { ...good, ct: encodeBase64(new Uint8Array(15)) },
    "ct empty": { ...good, ct: "" },
    "huge ct": { ...good, ct: huge },
  };
  for (const [what, value] of Object.entries(cases)) {
    await rejectsWith(openEnvelope(key, value, { channel: HEADER.channel }), "malformed", what);
    assert.throws(() => parseEnvelope(value), EnvelopeError, what);
  }
});

Deno.test("arbitrary input never makes open throw anything but EnvelopeError", async () => {
  const key = await randomKey();
  const good = await sealEnvelope(key, HEADER, { type: "STATUS" });
  const anyEnvelopeLike = fc.record({
    v: fc.oneof(fc.constant(1), fc.anything()),
    cp: fc.oneof(fc.constant(good.cp), fc.string(), fc.anything()),
    kv: fc.oneof(fc.constant(good.kv), fc.integer(), fc.double(), fc.anything()),
    seq: fc.oneof(fc.constant(good.seq), fc.integer(), fc.anything()),
    iv: fc.oneof(fc.constant(good.iv), fc.base64String(), fc.anything()),
    ct: fc.oneof(fc.constant(good.ct), fc.base64String(), fc.anything()),
  }, { requiredKeys: [] });
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.anything(), anyEnvelopeLike), async (value) => {
      try {
        await openEnvelope(key, value, { channel: HEADER.channel });
      } catch (err) {
        assert.ok(err instanceof EnvelopeError, String(err));
      }
    }),
    { numRuns: 500 },
  );
});

Deno.test("error messages carry neither key material nor plaintext", async () => {
  const key = await randomKey(true);
  const keyText = await exportCpKey(key);
  const secret = "driver-secret-4242";
  const env = await sealEnvelope(await importCpKey(keyText), HEADER, { secret });
  const tries = [
    () => openEnvelope(key, { ...env, ct: flipBit(env.ct, 3) }, OPEN),
    async () => openEnvelope(await randomKey(), env, OPEN),
    () => openEnvelope(key, { ...env, v: 2 }, OPEN),
  ];
  for (const attempt of tries) {
    await assert.rejects(attempt(), (err: unknown) => {
      assert.ok(err instanceof EnvelopeError);
      for (const s of [keyText, secret, env.ct]) assert.ok(!err.message.includes(s));
      return true;
    });
  }
});

Deno.test("seal refuses an invalid header and a payload JSON cannot encode", async () => {
  const key = await randomKey();
  const bad: Partial<EnvelopeHeader>[] = [
    { cp: "x" },
    { kv: -1 },
    { seq: 1.5 },
    { channel: "" },
    { channel: "a|b" },
  ];
  for (const b of bad) {
    await assert.rejects(sealEnvelope(key, { ...HEADER, ...b }, {}), TypeError, JSON.stringify(b));
  }
  await assert.rejects(sealEnvelope(key, HEADER, undefined), TypeError);
  await assert.rejects(sealEnvelope(key, HEADER, () => 1), TypeError);
  await assert.rejects(sealEnvelope(key, HEADER, "x".repeat(1 << 20)), RangeError);
});

Deno.test("keyring: a retired version opens during its grace, then is forgotten as expired_kv", async () => {
  let now = 1_000_000;
  const keyring = new CpKeyring({ now: () => now });
  const [k1, k2] = [await randomKey(), await randomKey()];
  keyring.add("CP-001", 1, k1);
  now += 5_000;
  keyring.add("CP-001", 2, k2); // version 1 retired now
  const old = await sealEnvelope(k1, HEADER, { n: 1 });
  assert.deepEqual(await openEnvelope(keyring, old, OPEN), { n: 1 });

  now += 119_999;
  assert.deepEqual(keyring.forgetExpired(120_000), [], "not before the grace is over");
  now += 1;
  assert.deepEqual(keyring.forgetExpired(120_000), [{ cp: "CP-001", kv: 1 }]);
  assert.equal(keyring.state("CP-001", 1), undefined);
  await rejectsWith(openEnvelope(keyring, old, OPEN), "expired_kv");
  assert.equal(keyring.live("CP-001")?.kv, 2, "the live key is never forgotten");
  now += 10 * 120_000;
  assert.deepEqual(keyring.forgetExpired(120_000), []);
  const ahead = await sealEnvelope(k2, { ...HEADER, kv: 7 }, { n: 2 });
  await rejectsWith(openEnvelope(keyring, ahead, OPEN), "unknown_kv");
});

Deno.test("keyring: revoked versions say revoked until their grace is over, then expired_kv", async () => {
  let now = 0;
  const keyring = new CpKeyring({ now: () => now });
  const k1 = await randomKey();
  keyring.add("CP-001", 1, k1);
  keyring.add("CP-001", 2, await randomKey());
  now = 30_000;
  keyring.revoke("CP-001"); // v1 retired at 0, v2 revoked at 30 s
  const env = await sealEnvelope(k1, HEADER, {});
  await rejectsWith(openEnvelope(keyring, env, OPEN), "revoked");
  now = 120_000;
  assert.deepEqual(keyring.forgetExpired(120_000), [{ cp: "CP-001", kv: 1 }]);
  now = 150_000;
  assert.deepEqual(keyring.forgetExpired(120_000), [{ cp: "CP-001", kv: 2 }]);
  await rejectsWith(openEnvelope(keyring, env, OPEN), "expired_kv");
});

Deno.test("keyring: a retired key loaded with its retirement time keeps its grace from then", () => {
  let now = 500_000;
  const keyring = new CpKeyring({ now: () => now });
  const key = {} as CryptoKey; // never used to decrypt here
  keyring.add("CP-001", 3, key, "retired", 400_000);
  keyring.add("CP-001", 4, key);
  assert.deepEqual(keyring.forgetExpired(120_000), [], "retired 100 s ago");
  now = 520_000;
  assert.deepEqual(keyring.forgetExpired(120_000), [{ cp: "CP-001", kv: 3 }]);
  assert.throws(() => keyring.forgetExpired(-1), RangeError);
  assert.throws(() => keyring.forgetExpired(Number.NaN), RangeError);
});

Deno.test("keyring: openable lists the versions keyFor gives a key for, with that key", async () => {
  let now = 0;
  const keyring = new CpKeyring({ now: () => now });
  const [k1, k2, k3] = [await randomKey(), await randomKey(), await randomKey()];
  keyring.add("CP-001", 1, k1);
  keyring.add("CP-001", 2, k2); // 1 retired
  keyring.add("CP-002", 1, k3);
  keyring.revoke("CP-002");
  assert.deepEqual(keyring.openable("CP-001"), [{ kv: 1, key: k1 }, { kv: 2, key: k2 }]);
  assert.deepEqual(keyring.openable("CP-002"), [], "revoked");
  assert.deepEqual(keyring.openable("CP-003"), [], "unknown");
  keyring.revoke("CP-001", 2);
  now = 200_000;
  keyring.forgetExpired(120_000);
  keyring.add("CP-001", 3, k3);
  assert.deepEqual(keyring.openable("CP-001"), [{ kv: 3, key: k3 }]);
  for (const kv of [1, 2, 4]) assert.throws(() => keyring.keyFor("CP-001", kv));
});
