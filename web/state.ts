/**
 * The dashboard's state, with no DOM and no network: built from Central's `GET /snapshot`
 * ({@link fromSnapshot}) and moved on by each event of `GET /events` ({@link applyEvent}).
 * Pure: a new state per event, so the view (Preact signals) just shows the latest one.
 *
 * @module
 */
import type { CpJson, DriverJson, SessionJson, WeatherJson } from "../central/wire.ts";

/** A CP as Central's dashboard shows it (central/dashboard.ts `DashboardCp`). */
export interface CpView extends CpJson {
  readonly session_id: string | null;
  readonly security: "ACTIVE" | "OUT_OF_SERVICE" | "REVOKED";
}

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

/** One part's health. */
export interface PartHealth {
  readonly status: "ok" | "down" | "unknown";
  readonly detail: string;
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

/** Completed sessions kept. */
export const MAX_RECENT = 50;
/** Audit records kept. */
export const MAX_AUDIT = 500;

const byKey = <T>(items: readonly T[], key: (t: T) => string): Record<string, T> =>
  Object.fromEntries(items.map((item) => [key(item), item]));

/** The state a snapshot describes. */
export function fromSnapshot(snapshot: Snapshot): DashboardState {
  return {
    boot: snapshot.boot,
    cps: byKey(snapshot.cps, (c) => c.id),
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

/** The state after one event (unknown events leave it as it is). */
export function applyEvent(state: DashboardState, type: string, data: unknown): DashboardState {
  switch (type) {
    case "cp":
    case "telemetry": {
      const cp = data as CpView;
      const session = cp.session_id === null ? undefined : state.active[cp.session_id];
      if (session === undefined) return { ...state, cps: { ...state.cps, [cp.id]: cp } };
      const live = { ...session, kwh: cp.kwh ?? session.kwh, eur: cp.eur ?? session.eur };
      const driver = state.drivers[live.driver_id];
      return {
        ...state,
        cps: { ...state.cps, [cp.id]: cp },
        active: { ...state.active, [live.id]: live },
        drivers: driver
          ? { ...state.drivers, [driver.id]: { ...driver, current_session: live } }
          : state.drivers,
      };
    }
    case "session": {
      const s = data as SessionView;
      const driver = state.drivers[s.driver_id] ?? newDriver(s.driver_id, s.started_at);
      return {
        ...state,
        active: { ...state.active, [s.id]: s },
        drivers: { ...state.drivers, [driver.id]: { ...driver, current_session: s } },
      };
    }
    case "ticket": {
      const s = data as SessionView;
      const { [s.id]: _, ...active } = state.active;
      const driver = state.drivers[s.driver_id] ?? newDriver(s.driver_id, s.started_at);
      const counted = state.recent.some((r) => r.id === s.id);
      return {
        ...state,
        active,
        recent: counted ? state.recent : [s, ...state.recent].slice(0, MAX_RECENT),
        drivers: {
          ...state.drivers,
          [driver.id]: {
            ...driver,
            sessions: driver.sessions + (counted ? 0 : 1),
            kwh: driver.kwh + (counted ? 0 : s.kwh),
            eur: driver.eur + (counted ? 0 : s.eur),
            current_session: driver.current_session?.id === s.id ? null : driver.current_session,
            last_session: s,
          },
        },
      };
    }
    case "weather": {
      const w = data as WeatherView;
      return { ...state, weather: { ...state.weather, [w.cp_id]: w } };
    }
    case "driver": {
      const { id, last_seen } = data as { id: string; last_seen: string };
      const driver = state.drivers[id] ?? newDriver(id, last_seen);
      return { ...state, drivers: { ...state.drivers, [id]: { ...driver, last_seen } } };
    }
    case "audit":
      return { ...state, audit: [data as AuditView, ...state.audit].slice(0, MAX_AUDIT) };
    case "status":
      return { ...state, status: data as StatusView };
    default:
      return state;
  }
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
      `${r.actor} ${r.action} ${JSON.stringify(r.params)}`.toLowerCase().includes(text))
  );
}
