/**
 * The dashboard's link to Central: one `EventSource` on `/events` (no polling). A `reset` event
 * (first connection, or Central restarted, or the client fell too far behind) reloads
 * `/snapshot`; events that arrive while it loads are held and applied after it if newer. The
 * browser reconnects by itself with `Last-Event-ID`; when it gives up, or nothing (not even a
 * `ping`) arrives for {@link SILENCE_MS}, a new `EventSource` is opened.
 *
 * @module
 */
import { signal } from "@preact/signals";
import { applyEvent, type DashboardState, eventSeq, fromSnapshot, type Snapshot } from "./state.ts";

/** The newest state, or null before the first snapshot. */
export const dashboard = signal<DashboardState | null>(null);
/** Whether the event stream is open. */
export const online = signal(false);

/** Central pings every 15 s: this much silence means the link is dead. */
export const SILENCE_MS = 40_000;
/** Wait before opening a new `EventSource` after the browser gave up. */
const REOPEN_MS = 2_000;

const EVENT_TYPES = [
  "cp",
  "telemetry",
  "session",
  "ticket",
  "weather",
  "driver",
  "audit",
  "status",
] as const;

/** Connects, and keeps connecting for the life of the page. */
export function connect(): void {
  let source: EventSource | undefined;
  let held: { id: string; type: string; data: unknown }[] | null = null;
  let silence: ReturnType<typeof setTimeout> | undefined;

  const reopen = (delayMs: number) => {
    source?.close();
    online.value = false;
    setTimeout(open, delayMs);
  };
  const alive = () => {
    clearTimeout(silence);
    silence = setTimeout(() => reopen(0), SILENCE_MS);
  };

  const loadSnapshot = async () => {
    held = [];
    try {
      const res = await fetch("/snapshot", { cache: "no-store" });
      if (!res.ok) throw new Error(`snapshot: ${res.status}`);
      const snapshot = await res.json() as Snapshot;
      let state = fromSnapshot(snapshot);
      const after = eventSeq(snapshot.last_event_id, snapshot.boot) ?? 0;
      for (const e of held) {
        const seq = eventSeq(e.id, snapshot.boot);
        if (seq !== undefined && seq > after) state = applyEvent(state, e.type, e.data);
      }
      dashboard.value = state;
      held = null;
    } catch {
      held = null;
      reopen(REOPEN_MS);
    }
  };

  const open = () => {
    const es = new EventSource("/events");
    source = es;
    es.onopen = () => {
      online.value = true;
      alive();
    };
    es.onerror = () => {
      online.value = false;
      // CONNECTING: the browser retries by itself; CLOSED: it gave up (e.g. a 5xx answer).
      if (es.readyState === EventSource.CLOSED && source === es) reopen(REOPEN_MS);
    };
    es.addEventListener("reset", () => {
      alive();
      loadSnapshot();
    });
    es.addEventListener("ping", alive);
    for (const type of EVENT_TYPES) {
      es.addEventListener(type, (event) => {
        alive();
        const e = event as MessageEvent<string>;
        const data = JSON.parse(e.data);
        if (held !== null) held.push({ id: e.lastEventId, type, data });
        else if (dashboard.value !== null) {
          dashboard.value = applyEvent(dashboard.value, type, data);
        }
      });
    }
  };
  open();
}
