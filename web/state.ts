/**
 * The dashboard's state, with no DOM and no network: built from Central's `GET /snapshot`
 * ({@link fromSnapshot}) and moved on by batches of `GET /events` ({@link applyEvents}).
 * Pure: a new state per batch, whose untouched parts keep their identity, so the view (Preact
 * signals, memoised components) re-renders only what a batch changed.
 *
 * @module
 */
import type { CpJson, DriverJson, SessionJson, WeatherJson } from "../central/wire.ts";
import type { NoticeLike } from "../shared/notices.ts";

/** A CP as Central's dashboard shows it (central/dashboard.ts `DashboardCp`). */
export interface CpView extends CpJson {
  readonly session_id: string | null;
  readonly security: "ACTIVE" | "OUT_OF_SERVICE" | "REVOKED";
}

/** The data of a `telemetry` event: a CP's figures (central/dashboard.ts `cpFigures`). */
export type CpFigures = Pick<CpView, "id" | "kw" | "kwh" | "eur" | "last_seen">;

/** A session (`GET /sessions`). */
export type SessionView = SessionJson;

/** A driver with totals and its current and last session. */
export interface DriverView extends Omit<DriverJson, "first_seen" | "active_session_id"> {
  readonly current_session: SessionView | null;
  readonly last_session: SessionView | null;
}

/** The weather office's last report for a CP (`GET /weather`). */
export type WeatherView = Pick<
  WeatherJson,
  "cp_id" | "city" | "temperature" | "status" | "since" | "updated_at"
>;

/** An audit record (`GET /audit`). */
export interface AuditView {
  readonly seq: number;
  readonly ts: string;
  readonly origin_ip?: string;
  readonly actor: string;
  readonly action: string;
  readonly outcome: string;
  readonly params: Readonly<Record<string, string | number | boolean | null>>;
}

/** One part's health, with why (Central's English words, and its code: shared/notices.ts). */
export interface PartHealth extends NoticeLike {
  readonly status: "ok" | "down" | "unknown";
}

/** Health of Kafka, Registry and weather office (central/system_health.ts). */
export interface StatusView {
  readonly kafka: PartHealth & { readonly outbox_pending: number };
  readonly registry: PartHealth & { readonly last_ok_at: string | null };
  readonly weather: PartHealth & {
    readonly last_report_at: string | null;
    readonly alerts: number;
  };
}

/** `GET /snapshot`. */
export interface Snapshot {
  readonly boot: string;
  readonly last_event_id: string;
  readonly cps: readonly CpView[];
  readonly drivers: readonly DriverView[];
  readonly sessions: {
    readonly active: readonly SessionView[];
    readonly recent: readonly SessionView[];
  };
  readonly weather: readonly WeatherView[];
  readonly audit: readonly AuditView[];
  readonly status: StatusView;
  readonly registry_admin: boolean;
  readonly local_cps: boolean;
}

/** What the dashboard shows. */
export interface DashboardState {
  /** Central's boot id. */
  readonly boot: string;
  /** CPs by id. */
  readonly cps: Readonly<Record<string, CpView>>;
  /** Every CP id, sorted: changes only when a CP appears, so views need not sort per event. */
  readonly cpOrder: readonly string[];
  /** Drivers by id. */
  readonly drivers: Readonly<Record<string, DriverView>>;
  /** Open sessions by id. */
  readonly active: Readonly<Record<string, SessionView>>;
  /** Completed sessions, newest first. */
  readonly recent: readonly SessionView[];
  /** Weather reports by CP id. */
  readonly weather: Readonly<Record<string, WeatherView>>;
  /** Audit records, newest first. */
  readonly audit: readonly AuditView[];
  /** Health. */
  readonly status: StatusView;
  /** Whether the CP manager works. */
  readonly registryAdmin: boolean;
  /** Whether a local supervisor starts and stops simulated CPs (`/local/cps`). */
  readonly localCps: boolean;
}

/** One event of `GET /events`, parsed. */
export interface LiveEvent {
  /** The SSE event name. */
  readonly type: string;
  /** The parsed `data`. */
  readonly data: unknown;
}

/** Completed sessions kept. */
export const MAX_RECENT = 50;
/** Audit records kept. */
export const MAX_AUDIT = 500;

const byKey = <T>(items: readonly T[], key: (t: T) => string): Record<string, T> =>
  Object.fromEntries(items.map((item) => [key(item), item]));

/** Ids sorted by code unit (locale-free: cheap, and the same order Central uses). */
export const sortIds = (ids: Iterable<string>): string[] =>
  [...ids].sort((a, b) => a < b ? -1 : a > b ? 1 : 0);

/** The state a snapshot describes. */
export function fromSnapshot(snapshot: Snapshot): DashboardState {
  const cps = byKey(snapshot.cps, (c) => c.id);
  return {
    boot: snapshot.boot,
    cps,
    cpOrder: sortIds(Object.keys(cps)),
    drivers: byKey(snapshot.drivers, (d) => d.id),
    active: byKey(snapshot.sessions.active, (s) => s.id),
    recent: snapshot.sessions.recent.slice(0, MAX_RECENT),
    weather: byKey(snapshot.weather, (w) => w.cp_id),
    audit: snapshot.audit.slice(0, MAX_AUDIT),
    status: snapshot.status,
    registryAdmin: snapshot.registry_admin,
    localCps: snapshot.local_cps,
  };
}

/** The sequence number of an event id `<boot>-<seq>`, or undefined for another boot. */
export function eventSeq(id: string, boot: string): number | undefined {
  const at = id.lastIndexOf("-");
  if (at < 0 || id.slice(0, at) !== boot) return undefined;
  const seq = Number(id.slice(at + 1));
  return Number.isInteger(seq) ? seq : undefined;
}

const newDriver = (id: string, seen: string): DriverView => ({
  id,
  last_seen: seen,
  sessions: 0,
  kwh: 0,
  eur: 0,
  current_session: null,
  last_session: null,
});

type Mutable<T> = Record<string, T>;

/**
 * A copy of one of the state's maps. Not `{...map}`: V8 spreads a map of about a thousand keys
 * key by key into new hidden classes, and the open sessions' keys change in every batch, so at
 * 1,000 CPs a spread of them took 3.4 ms of each batch (and 0.36 ms with the same keys), where
 * `Object.assign` into an empty object copies the storage whole: 0.3 ms and 0.002 ms.
 */
const copy = <T>(map: Readonly<Record<string, T>>): Mutable<T> => Object.assign({}, map);

/**
 * A batch of events applied to one state: each map is copied at most once per batch (on its
 * first change), not once per event, so a batch of n events over N CPs costs O(N + n), and every
 * CP, session or driver the batch does not touch keeps its object (memoised views skip it).
 */
class Draft {
  #cps?: Mutable<CpView>;
  #drivers?: Mutable<DriverView>;
  #active?: Mutable<SessionView>;
  #weather?: Mutable<WeatherView>;
  #recent: readonly SessionView[];
  #audit: AuditView[] = [];
  #status: StatusView;
  #newCp = false;

  constructor(readonly base: DashboardState) {
    this.#recent = base.recent;
    this.#status = base.status;
  }

  get cps(): Mutable<CpView> {
    return this.#cps ??= copy(this.base.cps);
  }
  get drivers(): Mutable<DriverView> {
    return this.#drivers ??= copy(this.base.drivers);
  }
  get active(): Mutable<SessionView> {
    return this.#active ??= copy(this.base.active);
  }
  get weather(): Mutable<WeatherView> {
    return this.#weather ??= copy(this.base.weather);
  }
  /** The current (drafted or base) value, without copying anything. */
  peek<K extends "cps" | "drivers" | "active">(
    key: K,
    id: string,
  ): DashboardState[K][string] | undefined {
    const drafted = key === "cps" ? this.#cps : key === "drivers" ? this.#drivers : this.#active;
    return (drafted ?? this.base[key])[id] as DashboardState[K][string] | undefined;
  }

  apply(type: string, data: unknown): void {
    switch (type) {
      case "cp":
        return this.#cp(data as CpView);
      case "telemetry":
        return this.#figures(data as CpFigures);
      case "session": {
        const s = data as SessionView;
        const driver = this.peek("drivers", s.driver_id) ?? newDriver(s.driver_id, s.started_at);
        this.active[s.id] = s;
        this.drivers[driver.id] = { ...driver, current_session: s };
        return;
      }
      case "ticket":
        return this.#ticket(data as SessionView);
      case "weather": {
        const w = data as WeatherView;
        this.weather[w.cp_id] = w;
        return;
      }
      case "driver": {
        const { id, last_seen } = data as { id: string; last_seen: string };
        const driver = this.peek("drivers", id) ?? newDriver(id, last_seen);
        this.drivers[id] = { ...driver, last_seen };
        return;
      }
      case "audit":
        this.#audit.push(data as AuditView);
        return;
      case "status":
        this.#status = data as StatusView;
        return;
    }
  }

  // A CP's figures reach its open session and driver only in the lists (liveSession): copying
  // both maps at every batch of a thousand CPs' figures was most of applying it.
  #cp(cp: CpView): void {
    if (this.peek("cps", cp.id) === undefined) this.#newCp = true;
    this.cps[cp.id] = cp;
  }

  // A `telemetry` event carries only the figures; the rest is the CP's last `cp` event.
  #figures(figures: CpFigures): void {
    const cp = this.peek("cps", figures.id);
    if (cp !== undefined) this.cps[figures.id] = { ...cp, ...figures };
  }

  #ticket(s: SessionView): void {
    if (this.peek("active", s.id) !== undefined) delete this.active[s.id];
    const driver = this.peek("drivers", s.driver_id) ?? newDriver(s.driver_id, s.started_at);
    const counted = this.#recent.some((r) => r.id === s.id);
    if (!counted) this.#recent = [s, ...this.#recent].slice(0, MAX_RECENT);
    this.drivers[driver.id] = {
      ...driver,
      sessions: driver.sessions + (counted ? 0 : 1),
      kwh: driver.kwh + (counted ? 0 : s.kwh),
      eur: driver.eur + (counted ? 0 : s.eur),
      current_session: driver.current_session?.id === s.id ? null : driver.current_session,
      last_session: s,
    };
  }

  done(): DashboardState {
    const b = this.base;
    const changed = this.#cps || this.#drivers || this.#active || this.#weather ||
      this.#audit.length > 0 || this.#recent !== b.recent || this.#status !== b.status;
    if (!changed) return b;
    return {
      ...b,
      cps: this.#cps ?? b.cps,
      cpOrder: this.#newCp ? sortIds(Object.keys(this.#cps!)) : b.cpOrder,
      drivers: this.#drivers ?? b.drivers,
      active: this.#active ?? b.active,
      weather: this.#weather ?? b.weather,
      recent: this.#recent,
      audit: this.#audit.length === 0
        ? b.audit
        : [...this.#audit.reverse(), ...b.audit].slice(0, MAX_AUDIT),
      status: this.#status,
    };
  }
}

/**
 * A batch applied a slice at a time: {@link step} applies events until its `more` says stop, so
 * the page can yield between slices, and a batch of thousands of events over thousands of CPs
 * (each map copied once, on its first change) never holds the main thread for all of it.
 */
export class BatchDraft {
  readonly #draft: Draft;
  readonly #events: readonly LiveEvent[];
  #at = 0;

  constructor(state: DashboardState, events: readonly LiveEvent[]) {
    this.#draft = new Draft(state);
    this.#events = events;
  }

  /**
   * Applies the next events while `more()` (asked after each, so a slice applies at least
   * one); returns whether every event is applied.
   */
  step(more: () => boolean): boolean {
    const events = this.#events;
    while (this.#at < events.length) {
      const e = events[this.#at++];
      this.#draft.apply(e.type, e.data);
      if (!more()) break;
    }
    return this.#at >= events.length;
  }

  /** The state after every event (once {@link step} returned true). */
  done(): DashboardState {
    return this.#draft.done();
  }
}

/**
 * The state after `events`, in order (unknown events change nothing). Untouched parts keep
 * their identity, and with no effective event the very same state comes back.
 */
export function applyEvents(state: DashboardState, events: readonly LiveEvent[]): DashboardState {
  if (events.length === 0) return state;
  const batch = new BatchDraft(state, events);
  batch.step(() => true);
  return batch.done();
}

/**
 * `session` with the figures its CP reports now (while the CP still holds it): a batch leaves
 * the open sessions' figures to the lists, which ask for them only for the rows they show.
 */
export function liveSession(
  session: SessionView,
  cps: Readonly<Record<string, CpView>>,
): SessionView {
  const cp = cps[session.cp_id];
  if (cp === undefined || cp.session_id !== session.id) return session;
  const kwh = cp.kwh ?? session.kwh;
  const eur = cp.eur ?? session.eur;
  return kwh === session.kwh && eur === session.eur ? session : { ...session, kwh, eur };
}

/**
 * The `n` open sessions that started last, newest first: one pass that keeps the newest `n`
 * (a sort of thousands of sessions, every second, was most of the lists' task).
 */
export function newestSessions(
  active: Readonly<Record<string, SessionView>>,
  n: number,
): SessionView[] {
  const newest: SessionView[] = [];
  for (const id in active) {
    const s = active[id];
    if (newest.length === n && s.started_at <= newest[n - 1].started_at) continue;
    let at = newest.length;
    while (at > 0 && newest[at - 1].started_at < s.started_at) at--;
    newest.splice(at, 0, s);
    if (newest.length > n) newest.pop();
  }
  return newest;
}

/** The state after one event (unknown events leave it as it is). */
export function applyEvent(state: DashboardState, type: string, data: unknown): DashboardState {
  return applyEvents(state, [{ type, data }]);
}

/** The audit records matching the filters (empty filters match everything). */
export function filterAudit(
  records: readonly AuditView[],
  filter: { readonly text: string; readonly outcome: string },
): AuditView[] {
  const text = filter.text.trim().toLowerCase();
  return records.filter((r) =>
    (filter.outcome === "" || r.outcome === filter.outcome) &&
    (text === "" ||
      `${r.actor} ${r.action} ${r.origin_ip ?? ""} ${JSON.stringify(r.params)}`.toLowerCase()
        .includes(text))
  );
}
