/**
 * The dashboard's link to Central: one `EventSource` on `/events` (no polling). A `reset` event
 * (first connection, or Central restarted, or the client fell too far behind) reloads
 * `/snapshot`; events that arrive while it loads are held and applied after it if newer. The
 * browser reconnects by itself with `Last-Event-ID`; when it gives up, or nothing (not even a
 * `ping`) arrives for {@link SILENCE_MS}, a new `EventSource` is opened.
 *
 * Events are not applied one by one: they wait in a queue (web/event_queue.ts, which merges each
 * CP's figures) and are applied as one batch in an animation frame at most every
 * {@link MIN_BATCH_GAP_MS}, so a thousand CPs' telemetry costs one new state and one render per
 * batch, not one per event. A hidden tab gets no frames: a timer applies the batch then.
 *
 * The list panels (sessions, drivers, weather, audit) follow {@link listed}, which takes the
 * newest state at most every {@link LIST_GAP_MS}, in a task of its own after the batch's frame:
 * a busy network's lists then cost one render a second, and never in the same task as the grid.
 *
 * @module
 */
import { signal } from "@preact/signals";
import { EventQueue, type QueuedEvent } from "./event_queue.ts";
import {
  applyEvents,
  type DashboardState,
  eventSeq,
  fromSnapshot,
  type LiveEvent,
  type Snapshot,
  withLiveFigures,
} from "./state.ts";

/** The newest state, or null before the first snapshot. */
export const dashboard = signal<DashboardState | null>(null);
/**
 * The state the list panels show: {@link dashboard} as it was at most {@link LIST_GAP_MS} ago,
 * with the open sessions' figures from their CPs (null before the first snapshot).
 */
export const listed = signal<DashboardState | null>(null);
/** Whether the event stream is open. */
export const online = signal(false);

/**
 * Called with each batch as it is applied, after {@link dashboard} took it (the operator console's
 * alarms, figures and charts follow these); a fresh snapshot comes as a `reset` event first.
 */
export const batchListeners = new Set<(events: readonly LiveEvent[]) => void>();

const tell = (events: readonly LiveEvent[]) => {
  for (const listener of batchListeners) listener(events);
};

/** Central pings every 15 s: this much silence means the link is dead. */
export const SILENCE_MS = 40_000;
/**
 * The shortest time between two batches: a screen of figures changing four times a second is
 * live enough, and a busy network's events then cost a few renders a second, not sixty.
 */
export const MIN_BATCH_GAP_MS = 250;
/** The longest a batch waits when no animation frame comes (a hidden tab). */
export const BATCH_FALLBACK_MS = 250;
/**
 * The shortest time between two updates of {@link listed}: at a thousand CPs the audit log and
 * the session and driver lists change with nearly every batch, faster than anyone reads them.
 */
export const LIST_GAP_MS = 1_000;
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
  "alarm",
] as const;

/** Connects, and keeps connecting for the life of the page. */
export function connect(): void {
  let source: EventSource | undefined;
  // While a snapshot loads, events wait here (held) and are applied after it if newer.
  let loading = false;
  const queue = new EventQueue();
  let scheduled = false;
  let silence: ReturnType<typeof setTimeout> | undefined;

  let listTimer: ReturnType<typeof setTimeout> | undefined;
  let listedAt = -LIST_GAP_MS;
  // A timer, not the frame: the lists render in a task of their own.
  const listSoon = () => {
    if (listTimer !== undefined) return;
    listTimer = setTimeout(() => {
      listTimer = undefined;
      listedAt = performance.now();
      listed.value = dashboard.value && withLiveFigures(dashboard.value);
    }, Math.max(0, listedAt + LIST_GAP_MS - performance.now()));
  };

  let appliedAt = 0;
  const applyQueued = () => {
    scheduled = false;
    appliedAt = performance.now();
    if (loading || dashboard.value === null) return;
    const events = queue.take();
    if (events.length === 0) return;
    dashboard.value = applyEvents(dashboard.value, events);
    listSoon();
    tell(events);
  };
  const schedule = () => {
    if (scheduled || loading) return;
    scheduled = true;
    let fired = false;
    const once = () => {
      if (fired) return;
      fired = true;
      clearTimeout(timer);
      applyQueued();
    };
    const wait = Math.max(0, appliedAt + MIN_BATCH_GAP_MS - performance.now());
    const timer = setTimeout(once, wait + BATCH_FALLBACK_MS);
    setTimeout(() => requestAnimationFrame(once), wait);
  };

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
    loading = true;
    queue.take(); // what came before the reset is in the snapshot, or outdated by it
    try {
      const res = await fetch("/snapshot", { cache: "no-store" });
      if (!res.ok) throw new Error(`snapshot: ${res.status}`);
      const snapshot = await res.json() as Snapshot;
      const after = eventSeq(snapshot.last_event_id, snapshot.boot) ?? 0;
      const newer = queue.take().filter((e) => (eventSeq(e.id, snapshot.boot) ?? 0) > after);
      dashboard.value = applyEvents(fromSnapshot(snapshot), newer);
      listSoon();
      tell([{ type: "reset", data: null }, ...newer]);
    } catch {
      queue.take();
      reopen(REOPEN_MS);
    } finally {
      loading = false;
    }
  };

  const open = () => {
    // batch=1: Central sends what it publishes together (a flush of every CP's figures) as one
    // `batch` event: one message to parse and dispatch instead of one per CP.
    const es = new EventSource("/events?batch=1");
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
    es.addEventListener("batch", (event) => {
      alive();
      const items = JSON.parse((event as MessageEvent<string>).data) as QueuedEvent[];
      for (const item of items) queue.push(item);
      schedule();
    });
    for (const type of EVENT_TYPES) {
      es.addEventListener(type, (event) => {
        alive();
        const e = event as MessageEvent<string>;
        queue.push({ id: e.lastEventId, type, data: JSON.parse(e.data) });
        schedule();
      });
    }
  };
  open();
}
