/**
 * What central/kafka_edge_test.ts and central/kafka_edge_bench.ts share: a key vault as Central
 * opens it with nothing stored, CPs logged in with a key really agreed in it, each charging, and
 * sealed SUPPLY readings as the consumer hands them over. Not used by Central itself.
 *
 * @module
 */
import { exportEcdhPublicKey, generateEcdhKeyPair } from "../shared/cp_key.ts";
import { type Envelope, sealEnvelope } from "../shared/envelope.ts";
import { TOPICS } from "../shared/kafka.ts";
import { type ConsumedMessage } from "../shared/kafka_consumer.ts";
import type { RegistryCp } from "./core.ts";
import { chargeInput, dispatch, loginInput } from "./core_test_support.ts";
import { KeyVault } from "./keys.ts";
import type { CentralRuntime } from "./runtime.ts";

/** A key vault under a fresh random master key, holding no key yet; `now` its clock. */
export async function freshVault(now: () => number = Date.now): Promise<KeyVault> {
  const master = await crypto.subtle.importKey(
    "raw",
    crypto.getRandomValues(new Uint8Array(32)),
    "AES-GCM",
    false,
    ["wrapKey", "unwrapKey"],
  );
  return await KeyVault.open(master, { keys: [], marks: [] }, () => 1, now);
}

/** Who charges where, and on which monitor connection the CP logged in. */
export interface ChargingCp {
  readonly cpId: string;
  readonly connection: number;
  readonly requestId: string;
  readonly driverId: string;
  readonly sessionId: string;
}

/**
 * Logs `cp` in with a CP key agreed in `vault` and installed there, as the monitor link does,
 * then has its driver start its session; returns what the agreement gave (the key among it).
 */
export async function loginCharging(
  runtime: CentralRuntime,
  vault: KeyVault,
  cp: ChargingCp,
  registry: RegistryCp = { location: "X", priceEurKwh: 0.5, powerKw: 22 },
): Promise<Awaited<ReturnType<KeyVault["agree"]>>> {
  const pair = await generateEcdhKeyPair();
  const login = await vault.agree(cp.cpId, await exportEcdhPublicKey(pair.publicKey));
  const now = Date.now();
  const { cpId, connection, requestId, driverId, sessionId } = cp;
  const { keyVersion, wrappedKey } = login;
  dispatch(runtime, loginInput(connection, { cpId, registry, keyVersion, wrappedKey }, now));
  vault.install(cpId, login);
  dispatch(runtime, chargeInput(requestId, { driverId, cpId, sessionId }, now));
  return login;
}

let offset = 0;

/** `value` as the consumer hands it over from `topic` under `key`, at the next offset. */
export function consumed<T>(topic: string, key: string | null, value: T): ConsumedMessage<T> {
  return {
    topic,
    partition: 0,
    offset: String(offset++),
    key,
    value,
    headers: undefined,
    timestamp: String(Date.now()),
  };
}

/** `value` as the consumer hands it over raw (its JSON's bytes) from `topic` under `key`. */
export function consumedBytes(
  topic: string,
  key: string | null,
  value: unknown,
): ConsumedMessage<Uint8Array> {
  return consumed(topic, key, new TextEncoder().encode(JSON.stringify(value)));
}

/** A SUPPLY reading of `sessionId` at 22 kW, stamped now. */
export const supplyReading = (sessionId: string, kwh: number, eur: number) => ({
  v: 1,
  type: "SUPPLY",
  sessionId,
  kw: 22,
  kwh,
  eur,
  ts: new Date().toISOString(),
});

/** `payload` sealed with `key` (version `kv`) as CP `cp`'s telemetry number `seq`. */
export const sealTelemetry = (
  key: CryptoKey,
  cp: string,
  kv: number,
  seq: number,
  payload: unknown,
): Promise<Envelope> => sealEnvelope(key, { cp, kv, seq, channel: TOPICS.cpTelemetry }, payload);
