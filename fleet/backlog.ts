/**
 * The backlog benchmark's pure parts (`deno task bench --backlog N`): the telemetry it seals
 * under the CPs' real keys while Central is down, and the drain figures from the samples taken
 * while a consumer (Central, or a raw one) works through it. No socket or clock of its own.
 *
 * @module
 */
import { type Envelope, sealEnvelopeNow } from "../shared/envelope.ts";
import type { TelemetryPayload, TelemetrySupply } from "../shared/messages.ts";
import { TOPICS } from "../shared/kafka.ts";

/** One logged-in CP as the backlog needs it. */
export interface BacklogCp {
  /** Its id. */
  readonly cpId: string;
  /** The version of its live key at Central. */
  readonly keyVersion: number;
  /** That key. */
  readonly key: CryptoKey;
  /** Its last `SUPPLY`, when it was charging: the backlog continues that session. */
  readonly supply?: TelemetrySupply;
}

/**
 * `count` sealed telemetry envelopes, the CPs in turn, as their engines would have sent them
 * while Central was down: each CP's `seq` goes up by one from `firstSeq`, a charging CP reports
 * its session's energy growing (so Central's core updates the session and tells its driver, as
 * in the steady state), an idle one its `STATUS`. `at` (ms since the epoch) stamps them.
 * @throws {RangeError} without CPs, or for a negative `count`.
 */
export function* backlogMessages(
  cps: readonly BacklogCp[],
  count: number,
  firstSeq: number,
  at: number,
): Generator<{ readonly cpId: string; readonly envelope: Envelope }> {
  if (cps.length === 0) throw new RangeError("a backlog needs at least one logged-in CP");
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new RangeError(`count must be a whole number of at least 0, got ${count}`);
  }
  const ts = new Date(at).toISOString();
  for (let i = 0; i < count; i++) {
    const cp = cps[i % cps.length];
    const round = Math.floor(i / cps.length);
    const payload: TelemetryPayload = cp.supply === undefined
      ? { v: 1, type: "STATUS", engine: "OK", state: "ACTIVATED", ts }
      : continued(cp.supply, round + 1, ts);
    const header = {
      cp: cp.cpId,
      kv: cp.keyVersion,
      seq: firstSeq + round,
      channel: TOPICS.cpTelemetry,
    };
    yield { cpId: cp.cpId, envelope: sealEnvelopeNow(cp.key, header, payload) };
  }
}

/** `supply` `steps` more reports on: a watt-hour more each, billed at its price so far. */
function continued(supply: TelemetrySupply, steps: number, ts: string): TelemetrySupply {
  const kwh = supply.kwh + steps * 0.001;
  const price = supply.kwh > 0 ? supply.eur / supply.kwh : 0;
  return { ...supply, kwh, eur: Math.round(kwh * price * 1e6) / 1e6, ts };
}

/** One look at a consumer working through a backlog. */
export interface DrainSample {
  /** When, ms since the epoch. */
  readonly at: number;
  /** Messages of the backlog handled so far (committed offsets past where it began). */
  readonly done: number;
  /** The consumer's process CPU time so far, ms, when it is a process of its own. */
  readonly cpuMs?: number;
  /** Of that, its main thread's (where Central's handlers run), ms. */
  readonly mainCpuMs?: number;
  /** Its peak resident memory so far, KiB (`VmHWM`). */
  readonly peakKib?: number;
}

/** How a consumer drained a backlog. */
export interface DrainFigures {
  /** Messages in the backlog. */
  readonly messages: number;
  /** From the first message handled to the last, s. */
  readonly seconds: number;
  /** `messages ÷ seconds` (over the samples after the first progress). */
  readonly perSecond: number;
  /** From the consumer's start (the first sample) to the last message, s. */
  readonly totalSeconds: number;
  /** CPU over the drain ÷ its wall time, % of one core (when measured). */
  readonly cpuPercent?: number;
  /**
   * CPU over the drain ÷ messages, µs (when measured): what a message costs, whatever share of
   * a busy machine the consumer got.
   */
  readonly cpuUsPerMessage?: number;
  /** The main thread's CPU over the drain ÷ its wall time, % of one core (when measured). */
  readonly mainCpuPercent?: number;
  /** The main thread's CPU over the drain ÷ messages, µs (when measured). */
  readonly mainCpuUsPerMessage?: number;
  /** Peak resident memory, MiB (when measured). */
  readonly peakMib?: number;
}

/**
 * The drain of `messages` from samples taken from the consumer's start until `done` reached
 * `messages`. The rate counts from the last sample before any progress, so start-up (joining
 * the group, the first fetch) is left out of it and shown in `totalSeconds`.
 * @throws {RangeError} when the samples never show the backlog done.
 */
export function drainFigures(samples: readonly DrainSample[], messages: number): DrainFigures {
  const endIndex = samples.findIndex((s) => s.done >= messages);
  if (endIndex < 0) throw new RangeError(`the samples never reach ${messages} messages handled`);
  const firstProgress = samples.findIndex((s) => s.done > 0);
  const from = samples[Math.max(0, firstProgress - 1)];
  const end = samples[endIndex];
  const seconds = Math.max(end.at - from.at, 1) / 1000;
  const cpuMs = from.cpuMs !== undefined && end.cpuMs !== undefined
    ? end.cpuMs - from.cpuMs
    : undefined;
  const mainCpuMs = from.mainCpuMs !== undefined && end.mainCpuMs !== undefined
    ? end.mainCpuMs - from.mainCpuMs
    : undefined;
  const peaks = samples.slice(0, endIndex + 1).flatMap((s) => s.peakKib ?? []);
  return {
    messages,
    seconds,
    perSecond: messages / seconds,
    totalSeconds: (end.at - samples[0].at) / 1000,
    ...(cpuMs === undefined ? {} : {
      cpuPercent: (cpuMs / (seconds * 1000)) * 100,
      cpuUsPerMessage: (cpuMs * 1000) / messages,
    }),
    ...(mainCpuMs === undefined ? {} : {
      mainCpuPercent: (mainCpuMs / (seconds * 1000)) * 100,
      mainCpuUsPerMessage: (mainCpuMs * 1000) / messages,
    }),
    ...(peaks.length === 0 ? {} : { peakMib: Math.max(...peaks) / 1024 }),
  };
}
