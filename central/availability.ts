/**
 * Network availability for `GET /summary`: the share of CP-time, over the current UTC day, in
 * which CPs were neither `BROKEN` nor `DISCONNECTED` (`ACTIVATED`, `SUPPLYING` and `STOPPED`
 * count as available: a stop is the operator's or the weather's choice, not a failure).
 *
 * Only time Central saw counts: the window starts at UTC midnight or at Central's start,
 * whichever is later, and covers every CP Central knows (from when it first knew it). CPs
 * recovered at a start are `DISCONNECTED` until their monitors log in again, which is what
 * Central can vouch for. Fed by the CP rows of committed steps; pure apart from its own state.
 *
 * @module
 */
import type { CpState } from "../shared/messages.ts";
import type { Model } from "./core.ts";
import type { Committed } from "./runtime.ts";

const DAY_MS = 86_400_000;

/** Whether a state counts as available. */
export function isAvailable(state: CpState): boolean {
  return state !== "BROKEN" && state !== "DISCONNECTED";
}

/** The start of the UTC day holding `ms`. */
export function utcDayStart(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** What {@link AvailabilityTracker.at} answers. */
export interface AvailabilityFigure {
  /** Available CP-time over all CP-time in the window, 0–100 (null: no CP-time yet). */
  readonly percent: number | null;
  /** The window's start, ms. */
  readonly sinceMs: number;
}

/** Available and total CP-time since the window's start. */
export class AvailabilityTracker {
  readonly #startedMs: number;
  #windowStart: number;
  #upMs = 0;
  #totalMs = 0;
  /** Per CP: available or not, since when. */
  readonly #current = new Map<string, { available: boolean; since: number }>();

  /** Starts at `atMs` with the CPs of `model` in their recovered states. */
  constructor(model: Model, atMs: number) {
    this.#startedMs = atMs;
    this.#windowStart = Math.max(utcDayStart(atMs), atMs);
    for (const cp of model.cps.values()) {
      this.#current.set(cp.id, { available: isAvailable(cp.status.state), since: atMs });
    }
  }

  /** Takes one committed step's stored CP rows. */
  observe({ now: at, effects }: Committed): void {
    this.#roll(at);
    for (const effect of effects) {
      if (effect.type !== "save_cp") continue;
      const available = isAvailable(effect.cp.status.state);
      const now = this.#current.get(effect.cp.id);
      if (now === undefined) {
        this.#current.set(effect.cp.id, { available, since: at });
        continue;
      }
      if (now.available === available) continue;
      this.#close(now, at);
      this.#current.set(effect.cp.id, { available, since: at });
    }
  }

  /** The figure at `nowMs`. */
  at(nowMs: number): AvailabilityFigure {
    this.#roll(nowMs);
    let up = this.#upMs;
    let total = this.#totalMs;
    for (const state of this.#current.values()) {
      const span = Math.max(0, nowMs - Math.max(state.since, this.#windowStart));
      total += span;
      if (state.available) up += span;
    }
    return {
      percent: total > 0 ? Math.round((up / total) * 100_000) / 1000 : null,
      sinceMs: this.#windowStart,
    };
  }

  /** Adds a finished interval's part inside the window. */
  #close(state: { available: boolean; since: number }, atMs: number): void {
    const span = Math.max(0, atMs - Math.max(state.since, this.#windowStart));
    this.#totalMs += span;
    if (state.available) this.#upMs += span;
  }

  /** A new UTC day starts a new window (the open intervals carry on into it). */
  #roll(nowMs: number): void {
    const day = utcDayStart(nowMs);
    if (day <= this.#windowStart) return;
    this.#windowStart = Math.max(day, this.#startedMs);
    this.#upMs = 0;
    this.#totalMs = 0;
  }
}
