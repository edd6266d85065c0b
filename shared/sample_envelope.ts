/**
 * The telemetry envelope the benchmarks measure with: a SUPPLY sealed under a fresh AES-256-GCM
 * key, as a CP's engine sends it on `cp.telemetry`. fleet/bench_raw.ts sizes its raw Kafka
 * messages by it and shared/envelope_bench.ts opens it, so both measure the same message.
 *
 * @module
 */
import { type Envelope, type EnvelopeHeader, sealEnvelope } from "./envelope.ts";

/** A sealed sample and what opens it. */
export interface SampleTelemetry {
  /** The key it is sealed under (not extractable). */
  readonly key: CryptoKey;
  /** Its header: a bench CP, key version 1, `cp.telemetry` (TOPICS.cpTelemetry). */
  readonly header: EnvelopeHeader;
  /** The envelope. */
  readonly envelope: Envelope;
}

/** Seals a fresh sample: a new key, a new session id and the time now. */
export async function sealSampleTelemetry(): Promise<SampleTelemetry> {
  const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
    "encrypt",
    "decrypt",
  ]);
  const header = { cp: "BENCH-CP-00001", kv: 1, seq: 1234, channel: "cp.telemetry" };
  const envelope = await sealEnvelope(key, header, {
    v: 1,
    type: "SUPPLY",
    sessionId: crypto.randomUUID(),
    kw: 22,
    kwh: 3.1415926535,
    eur: 1.2345678901,
    ts: new Date().toISOString(),
  });
  return { key, header, envelope };
}
