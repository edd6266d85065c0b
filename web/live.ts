/**
 * The dashboard's link to Central: one `EventSource` on `/events` (no polling). A `reset` event
 * (first connection, or Central restarted, or the client fell too far behind) reloads
 * `/snapshot`; events that arrive while it loads are held and applied after it if newer. The
 * browser reconnects by itself with `Last-Event-ID`; when it gives up, or nothing (not even a
 * `ping`) arrives for {@link SILENCE_MS}, a new `EventSource` is opened.
 *
 * Events are not applied one by one: they wait in a queue (web/event_queue.ts, which merges each
 * CP's figures) and are applied as one batch at most every {@link MIN_BATCH_GAP_MS}, so a
 * thousand CPs' telemetry costs one new state and one render per batch, not one per event. The
 * batch is applied in slices of at most {@link SLICE_MS}, each a task of its own, and the new
 * state is rendered in the next animation frame: on a busy 2-core machine a task of 20 ms that
 * loses its core is a long one, a slice of 4 ms rarely is. A hidden tab gets no frames: a timer
 * renders the batch then.
 *
 * The list panels follow {@link listed}, which takes the newest state at most every
 * {@link LIST_GAP_MS}, the sessions, the drivers and weather, and the audit log each in a task of
 * its own after the batch's frame: a busy network's lists then cost one render a second, and
 * never in the same task as the grid or as each other.
 *
 * @module
 */
import { signal } from "@preact/signals";
import { EventQueue, type QueuedEvent } from "./event_queue.ts";
import {
  applyEvents,
  BatchDraft,
  type DashboardState,
  eventSeq,
  fromSnapshot,
  type LiveEvent,
  type Snapshot,
} from "./state.ts";

/** The newest state, or null before the first snapshot. */
export const dashboard = signal<DashboardState | null>(null);
/**
 * The states the list panels show: {@link dashboard} as it was at most {@link LIST_GAP_MS} ago
 * (null before the first snapshot), one signal per panel, set in tasks of their own.
 */
export const listed = {
  sessions: signal<DashboardState | null>(null),
  drivers: signal<DashboardState | null>(null),
  audit: signal<DashboardState | null>(null),
};
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
/**
 * The longest slice of a batch's application in one task: the page yields between slices, so
 * no task of it is long even when the machine is busy and it waits for a core between them.
 */
export const SLICE_MS = 4;
/** Wait before opening a new `EventSource` after the browser gave up. */
const REOPEN_MS = 2_000;

/** Resolves in a task of its own: what waits (input, the stream's data, timers) may run first. */
const nextTask = () =>
  new Promise<void>((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });

/** Resolves in the next animation frame, or after {@link BATCH_FALLBACK_MS} when none comes. */
const nextFrame = () =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, BATCH_FALLBACK_MS);
    requestAnimationFrame(() => {
      clearTimeout(timer);
      resolve();
    });
  });

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

/**
 * `events` applied to `base` in slices of at most {@link SLICE_MS}, each a task of its own, and
 * resolved in the next animation frame, so that the new state is rendered in the frame's own
 * task; null when `stale()` says a snapshot replaced `base` meanwhile.
 */
async function applyInSlices(
  base: DashboardState,
  events: readonly LiveEvent[],
  stale: () => boolean,
): Promise<DashboardState | null> {
  const batch = new BatchDraft(base, events);
  for (;;) {
    const until = performance.now() + SLICE_MS;
    if (batch.step(() => performance.now() < until)) break;
    await nextTask();
    if (stale()) return null;
  }
  const next = batch.done();
  await nextFrame();
  return stale() ? null : next;
}

/**
 * What makes {@link listed} follow {@link dashboard}: call it after each change; the panels'
 * signals take the newest state at most every {@link LIST_GAP_MS}, each in a task of its own
 * (a timer's, not the frame's).
 */
function followLists(): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let listedAt = -LIST_GAP_MS;
  return () => {
    if (timer !== undefined) return;
    timer = setTimeout(async () => {
      listedAt = performance.now();
      const state = dashboard.value;
      listed.sessions.value = state;
      await nextTask();
      listed.drivers.value = state;
      await nextTask();
      listed.audit.value = state;
      timer = undefined;
    }, Math.max(0, listedAt + LIST_GAP_MS - performance.now()));
  };
}

/** Connects, and keeps connecting for the life of the page. */
export function connect(): void {
  let source: EventSource | undefined;
  // While a snapshot loads, events wait here (held) and are applied after it if newer.
  let loading = false;
  const queue = new EventQueue();
  let scheduled = false;
  let silence: ReturnType<typeof setTimeout> | undefined;

  const listSoon = followLists();

  let appliedAt = 0;
  // Counts snapshots taken: a batch drafted on the state before one is dropped.
  let snapshots = 0;
  const applyQueued = async () => {
    appliedAt = performance.now();
    const base = dashboard.value;
    if (loading || base === null) return;
    const events = queue.take();
    if (events.length === 0) return;
    const taken = snapshots;
    const next = await applyInSlices(base, events, () => snapshots !== taken);
    if (next === null) return;
    dashboard.value = next;
    listSoon();
    // The console's alarms and figures render in the next task, not in the grid's frame.
    await nextTask();
    tell(events);
  };
  const schedule = () => {
    if (scheduled || loading) return;
    scheduled = true;
    setTimeout(async () => {
      try {
        await applyQueued();
      } finally {
        scheduled = false;
        if (queue.size > 0) schedule();
      }
    }, Math.max(0, appliedAt + MIN_BATCH_GAP_MS - performance.now()));
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
    snapshots++;
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
