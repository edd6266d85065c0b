/**
 * Events of `GET /events` waiting for the next frame, with a CP's figures merged: a `telemetry`
 * event replaces the data of that CP's `telemetry` still waiting, in its place. Central sends
 * `telemetry` only when nothing but figures changed (a state, session or driver change is a `cp`
 * event), so a newer `telemetry` always carries everything an older one of the same CP did; a
 * `cp` event ends the merge, keeping every change in order. Pure: no DOM, no timer.
 *
 * @module
 */
import type { LiveEvent } from "./state.ts";

/** A queued event with its SSE id (to drop what a snapshot already holds). */
export interface QueuedEvent extends LiveEvent {
  /** The SSE `id`. */
  readonly id: string;
}

/** The queue of one event stream. */
export class EventQueue {
  #events: QueuedEvent[] = [];
  /** Index in #events of each CP's mergeable `telemetry`. */
  #telemetry = new Map<string, number>();

  /** Events waiting. */
  get size(): number {
    return this.#events.length;
  }

  /** Adds an event, merging a CP's figures into its waiting `telemetry`. */
  push(event: QueuedEvent): void {
    const cpId = (event.data as { id?: unknown } | null)?.id;
    if (event.type === "telemetry" && typeof cpId === "string") {
      const at = this.#telemetry.get(cpId);
      if (at !== undefined) {
        this.#events[at] = event;
        return;
      }
      this.#telemetry.set(cpId, this.#events.length);
    } else if (event.type === "cp" && typeof cpId === "string") {
      this.#telemetry.delete(cpId);
    }
    this.#events.push(event);
  }

  /** Every waiting event, in order; the queue is empty after. */
  take(): QueuedEvent[] {
    const out = this.#events;
    this.#events = [];
    this.#telemetry.clear();
    return out;
  }
}
