/**
 * Power and energy over time, for the network and per CP, in a bounded ring of fixed buckets
 * (10 s × 360 = the last hour by default), fed by Central's committed steps:
 *
 * - **kW** of a bucket is the mean of the power the sessions report, sampled at every clock
 *   tick of Central (4 a second) — the CPs' own figure, so a simulation running at `--speed 60`
 *   still shows 22 kW, not 60 times it;
 * - **kWh** of a bucket is the energy the sessions' reports added during it (the growth of each
 *   open session's `kwh`, from its stored rows).
 *
 * Memory is bounded: the network's ring, plus one ring per CP that charged within the window
 * (about 4.3 KB each for an hour; a CP idle for longer is forgotten, its points are zeros
 * anyway). The series lives in memory
 * only: a restart of Central starts it empty.
 *
 * @module
 */
import type { Model } from "./core.ts";
import type { Committed } from "./runtime.ts";

/** Default bucket length. */
export const SERIES_BUCKET_MS = 10_000;
/** Default number of buckets kept (an hour of 10 s buckets). */
export const SERIES_BUCKETS = 360;

/** One point of a series. */
export interface SeriesPoint {
  /** The bucket's start, ms since the epoch. */
  readonly t: number;
  /** Mean power over the bucket, kW. */
  readonly kw: number;
  /** Energy delivered during the bucket, kWh. */
  readonly kwh: number;
}

/**
 * One ring: per slot the bucket it holds, the sum of power samples and the energy. A CP's ring
 * is single precision (4.3 KB an hour), plenty for figures shown to 3 and 6 decimals.
 */
interface Ring {
  readonly bucket: Int32Array | Float64Array;
  readonly kwSum: Float32Array | Float64Array;
  readonly kwh: Float32Array | Float64Array;
  /** Last bucket with activity (CP rings are forgotten after a window without). */
  last: number;
}

const round = (value: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
};

/** The network's and each CP's power and energy over the last window. */
export class PowerSeries {
  readonly #bucketMs: number;
  readonly #size: number;
  readonly #network: Ring;
  /** Clock ticks sampled per slot (kW is their mean), network-wide. */
  readonly #ticks: Float64Array;
  readonly #cps = new Map<string, Ring>();
  /** Each open session's energy as last seen, so a report adds only its growth. */
  readonly #lastKwh = new Map<string, number>();
  #sinceSweep = 0;

  /**
   * Starts from `model` (its open sessions' energy is the baseline, not new energy).
   * @throws {RangeError} for a bucket under a second or no buckets.
   */
  constructor(model: Model, bucketMs = SERIES_BUCKET_MS, buckets = SERIES_BUCKETS) {
    // Whole seconds at least: a CP ring numbers its buckets in 32 bits.
    if (!(bucketMs >= 1000) || !(Number.isInteger(buckets) && buckets > 0)) {
      throw new RangeError("bucketMs must be at least 1000 and buckets a positive whole number");
    }
    this.#bucketMs = bucketMs;
    this.#size = buckets;
    this.#network = {
      bucket: new Float64Array(buckets).fill(-1),
      kwSum: new Float64Array(buckets),
      kwh: new Float64Array(buckets),
      last: -Infinity,
    };
    this.#ticks = new Float64Array(buckets);
    for (const session of model.sessions.values()) this.#lastKwh.set(session.id, session.kwh);
  }

  /** The bucket length, ms. */
  get bucketMs(): number {
    return this.#bucketMs;
  }

  /** How far back the series goes, ms. */
  get windowMs(): number {
    return this.#bucketMs * this.#size;
  }

  /** CPs with a ring now (for tests of the memory bound). */
  get trackedCps(): number {
    return this.#cps.size;
  }

  /** Takes one committed step: a clock tick samples power; stored sessions add energy. */
  observe({ input, now: at, effects, model }: Committed): void {
    const bucket = Math.floor(at / this.#bucketMs);
    for (const effect of effects) {
      if (effect.type !== "save_session") continue;
      const { session } = effect;
      const before = this.#lastKwh.get(session.id) ?? 0;
      const added = session.kwh - before;
      if (session.endedAt === null) this.#lastKwh.set(session.id, session.kwh);
      else this.#lastKwh.delete(session.id);
      if (!(added > 0)) continue;
      this.#add(this.#network, bucket, 0, added);
      this.#add(this.#cpRing(session.cpId), bucket, 0, added);
    }
    if (input.type === "tick") this.#sample(bucket, model);
  }

  /**
   * The last `minutes` of the network (`cpId` undefined) or of one CP, oldest first, one point
   * per bucket up to the one holding `nowMs` (empty buckets are zeros).
   */
  series(cpId: string | undefined, minutes: number, nowMs: number): SeriesPoint[] {
    const current = Math.floor(nowMs / this.#bucketMs);
    const count = Math.max(
      1,
      Math.min(this.#size, Math.ceil((minutes * 60_000) / this.#bucketMs)),
    );
    const ring = cpId === undefined ? this.#network : this.#cps.get(cpId);
    const points: SeriesPoint[] = [];
    for (let b = current - count + 1; b <= current; b++) {
      const slot = this.#slot(b);
      const held = ring !== undefined && ring.bucket[slot] === b;
      const ticks = this.#ticks[slot] > 0 && this.#network.bucket[slot] === b
        ? this.#ticks[slot]
        : 0;
      points.push({
        t: b * this.#bucketMs,
        kw: held && ticks > 0 ? round(ring.kwSum[slot] / ticks, 3) : 0,
        kwh: held ? round(ring.kwh[slot], 6) : 0,
      });
    }
    return points;
  }

  #sample(bucket: number, model: Model): void {
    const slot = this.#reset(this.#network, bucket);
    this.#ticks[slot]++;
    let total = 0;
    for (const session of model.sessions.values()) {
      if (!(session.kw > 0)) continue;
      total += session.kw;
      this.#add(this.#cpRing(session.cpId), bucket, session.kw, 0);
    }
    this.#network.kwSum[slot] += total;
    if (++this.#sinceSweep >= this.#size) this.#sweep(bucket);
  }

  /** Forgets the rings of CPs idle for a whole window. */
  #sweep(bucket: number): void {
    this.#sinceSweep = 0;
    for (const [cpId, ring] of this.#cps) {
      if (ring.last <= bucket - this.#size) this.#cps.delete(cpId);
    }
  }

  #add(ring: Ring, bucket: number, kw: number, kwh: number): void {
    const slot = this.#reset(ring, bucket);
    ring.kwSum[slot] += kw;
    ring.kwh[slot] += kwh;
    ring.last = Math.max(ring.last, bucket);
  }

  /** The slot of `bucket` in `ring`, emptied first if it still holds an older bucket. */
  #reset(ring: Ring, bucket: number): number {
    const slot = this.#slot(bucket);
    if (ring.bucket[slot] !== bucket) {
      ring.bucket[slot] = bucket;
      ring.kwSum[slot] = 0;
      ring.kwh[slot] = 0;
      if (ring === this.#network) this.#ticks[slot] = 0;
    }
    return slot;
  }

  #slot(bucket: number): number {
    return ((bucket % this.#size) + this.#size) % this.#size;
  }

  #cpRing(cpId: string): Ring {
    let ring = this.#cps.get(cpId);
    if (ring === undefined) this.#cps.set(cpId, ring = this.#ring());
    return ring;
  }

  #ring(): Ring {
    return {
      bucket: new Int32Array(this.#size).fill(-1),
      kwSum: new Float32Array(this.#size),
      kwh: new Float32Array(this.#size),
      last: -Infinity,
    };
  }
}
