/**
 * What the dashboard sees, with no socket or timer: the `GET /snapshot` document
 * ({@link buildSnapshot}) and the events of the live feed ({@link DashboardTracker}), both made
 * from Central's committed model and effects (central/runtime.ts), its audit records and its
 * health view.
 *
 * Events (SSE `event` names; `data` is JSON):
 * - `cp`: a CP's state, hold, driver, key version or security status changed (its figures too);
 * - `telemetry`: only a CP's figures changed: coalesced per CP, at most one per flush;
 * - `session`: a session opened (AUTHORIZED); `ticket`: it ended, with its final figures;
 * - `weather`: a CP's weather status changed (temperature-only reports are coalesced);
 * - `driver`: a driver was seen (coalesced); `audit`: a record was appended;
 * - `status`: the health of Kafka, Registry or weather office changed.
 *
 * @module
 */
import type { AuditRecord } from "./audit_chain.ts";
import type { Cp, Model, Session } from "./core.ts";
import type { LiveFeed } from "./live_feed.ts";
import type { Committed } from "./runtime.ts";
import type { DriverSummary } from "./store.ts";
import {
  type CpJson,
  cpJson,
  type DriverJson,
  driverJson,
  type SessionJson,
  sessionJson,
  type WeatherJson,
  weatherJson,
} from "./wire.ts";
import { statusSignature, type SystemStatus } from "./system_health.ts";

/** A CP on the dashboard: `GET /cps/{id}` plus its open session and security status. */
export type DashboardCp = CpJson & {
  /** The open session, or null. */
  readonly session_id: string | null;
  /** Central's security status of the CP. */
  readonly security: Cp["security"];
};

/** A driver on the dashboard: `GET /drivers` plus its open and its last completed session. */
export type DashboardDriver = DriverJson & {
  /** The open session, or null. */
  readonly current_session: SessionJson | null;
  /** The newest completed session among the recent ones, or null. */
  readonly last_session: SessionJson | null;
};

/** The `GET /snapshot` document. */
export interface Snapshot {
  /** Central's boot id (the prefix of event ids). */
  readonly boot: string;
  /** The feed's newest event id when this was made: resume the event stream from it. */
  readonly last_event_id: string;
  /** When it was made (ISO). */
  readonly time: string;
  /** Every CP by id. */
  readonly cps: DashboardCp[];
  /** Every driver by id. */
  readonly drivers: DashboardDriver[];
  /** Open sessions (newest first) and recently completed ones (newest first). */
  readonly sessions: {
    readonly active: SessionJson[];
    readonly recent: SessionJson[];
  };
  /** The weather office's last report per CP. */
  readonly weather: WeatherJson[];
  /** The newest audit records, newest first. */
  readonly audit: AuditRecord[];
  /** Health of Kafka, Registry and weather office. */
  readonly status: SystemStatus;
  /** Whether Central holds a Registry admin key (the CP manager works). */
  readonly registry_admin: boolean;
  /** Whether a local supervisor runs the simulated CPs (the CP manager starts and stops them). */
  readonly local_cps: boolean;
}

/** What a snapshot is made of (read by api_dashboard.ts from the runtime and the store). */
export interface SnapshotSources {
  /** The model. */
  readonly model: Model;
  /** Recently completed sessions, newest first. */
  readonly recent: readonly Session[];
  /** Every driver with totals. */
  readonly drivers: readonly DriverSummary[];
  /** The newest audit records, newest first. */
  readonly audit: readonly AuditRecord[];
  /** The health view. */
  readonly status: SystemStatus;
  /** The feed (boot and newest id). */
  readonly feed: Pick<LiveFeed, "boot" | "lastId">;
  /** Whether the CP manager works. */
  readonly registryAdmin: boolean;
  /** Whether the CP manager starts and stops local CPs. */
  readonly localCps: boolean;
  /** Now. */
  readonly now: Date;
}

/** A CP with its open session, as the dashboard shows it. */
export function dashboardCp(cp: Cp, model: Model): DashboardCp {
  const sessionId = cp.status.sessionId;
  const session = sessionId === null ? undefined : model.sessions.get(sessionId);
  return { ...cpJson(cp, session), session_id: session?.id ?? null, security: cp.security };
}

const byId = <T extends { id: string }>(a: T, b: T) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

/** The snapshot document. */
export function buildSnapshot(src: SnapshotSources): Snapshot {
  const { model } = src;
  const open = [...model.sessions.values()].sort((a, b) =>
    a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : 0
  );
  const lastByDriver = new Map<string, Session>();
  for (const s of src.recent) if (!lastByDriver.has(s.driverId)) lastByDriver.set(s.driverId, s);
  const openByDriver = new Map(open.map((s) => [s.driverId, s]));
  const drivers = src.drivers.map((d) => {
    const current = openByDriver.get(d.id);
    const last = lastByDriver.get(d.id);
    return {
      ...driverJson(d),
      current_session: current ? sessionJson(current) : null,
      last_session: last ? sessionJson(last) : null,
    };
  });
  const weather = [...model.weather.values()].flatMap((w) => {
    const cp = model.cps.get(w.cpId);
    return cp ? [weatherJson(w, cp)] : [];
  }).sort((a, b) => a.cp_id < b.cp_id ? -1 : 1);
  return {
    boot: src.feed.boot,
    last_event_id: src.feed.lastId,
    time: src.now.toISOString(),
    cps: [...model.cps.values()].map((cp) => dashboardCp(cp, model)).sort(byId),
    drivers,
    sessions: { active: open.map(sessionJson), recent: src.recent.map(sessionJson) },
    weather,
    audit: [...src.audit],
    status: src.status,
    registry_admin: src.registryAdmin,
    local_cps: src.localCps,
  };
}

/** What a `telemetry` event carries: the fields {@link cpSignature} leaves out. */
export type CpFigures = Pick<DashboardCp, "id" | "kw" | "kwh" | "eur" | "last_seen">;

/**
 * A CP's figures alone: the rest of its view is what its last `cp` event (or the snapshot) said.
 * At 5,000 CPs a flush of whole views was 700 KB, which the browser's main thread reads at once.
 */
export function cpFigures(view: DashboardCp): CpFigures {
  return { id: view.id, kw: view.kw, kwh: view.kwh, eur: view.eur, last_seen: view.last_seen };
}

/** The fields whose change is a `cp` event; the rest (figures) is `telemetry`. */
function cpSignature(view: DashboardCp): string {
  return JSON.stringify([
    view.state,
    view.stop_reason,
    view.driver_id,
    view.session_id,
    view.key_version,
    view.security,
    view.deregistered_at,
    view.key_revoked,
    view.key_revoked_at,
    view.location,
    view.price_eur_kwh,
    view.power_kw,
    view.protocol,
  ]);
}

/** Turns committed steps, audit records and health views into feed events. */
export class DashboardTracker {
  readonly #feed: LiveFeed;
  readonly #cps = new Map<string, string>();
  readonly #open = new Set<string>();
  readonly #weather = new Map<string, string>();
  #status = "";
  /**
   * The model the CPs of {@link #shown} were looked at in. A Kafka batch announces each of its
   * inputs with the batch's final model, and a CP's view in one model is always the same: a
   * CP reporting ten times in a batch is looked at once, not ten times (BENCHMARKS.md).
   */
  #shownIn: Model | undefined;
  readonly #shown = new Set<string>();

  /** Starts from `model` (what a snapshot taken now shows needs no event). */
  constructor(feed: LiveFeed, model: Model) {
    this.#feed = feed;
    for (const cp of model.cps.values()) this.#cps.set(cp.id, cpSignature(dashboardCp(cp, model)));
    for (const id of model.sessions.keys()) this.#open.add(id);
    for (const w of model.weather.values()) this.#weather.set(w.cpId, w.status);
  }

  /** The events of one committed step (a runtime listener). */
  commit({ effects, model }: Pick<Committed, "effects" | "model">): void {
    const touched = new Set<string>();
    for (const effect of effects) {
      switch (effect.type) {
        case "save_cp":
          touched.add(effect.cp.id);
          break;
        case "save_session": {
          const s = effect.session;
          touched.add(s.cpId);
          if (s.endedAt !== null) {
            this.#open.delete(s.id);
            this.#feed.publish("ticket", sessionJson(s));
          } else if (!this.#open.has(s.id)) {
            this.#open.add(s.id);
            this.#feed.publish("session", sessionJson(s));
          }
          break;
        }
        case "save_weather": {
          const cp = model.cps.get(effect.report.cpId);
          if (cp === undefined) break;
          const key = `weather:${cp.id}`;
          const view = weatherJson(effect.report, cp);
          if (this.#weather.get(cp.id) !== effect.report.status) {
            this.#weather.set(cp.id, effect.report.status);
            this.#feed.publish("weather", view, key);
          } else {
            this.#feed.coalesce(key, "weather", view);
          }
          break;
        }
        case "save_driver":
          this.#feed.coalesce(`driver:${effect.driverId}`, "driver", {
            id: effect.driverId,
            last_seen: effect.at,
          });
          break;
      }
    }
    if (model !== this.#shownIn) {
      this.#shownIn = model;
      this.#shown.clear();
    }
    for (const id of touched) {
      if (this.#shown.has(id)) continue;
      this.#shown.add(id);
      const cp = model.cps.get(id);
      if (cp === undefined) continue;
      const view = dashboardCp(cp, model);
      const signature = cpSignature(view);
      if (this.#cps.get(id) !== signature) {
        this.#cps.set(id, signature);
        this.#feed.publish("cp", view, `cp:${id}`);
      } else {
        this.#feed.coalesce(`cp:${id}`, "telemetry", cpFigures(view));
      }
    }
  }

  /** An appended audit record (an `AuditLog` listener). */
  audit(record: AuditRecord): void {
    this.#feed.publish("audit", record);
  }

  /** The health view now: an event when something that shows changed. */
  status(status: SystemStatus): void {
    const signature = statusSignature(status);
    if (signature === this.#status) return;
    this.#status = signature;
    this.#feed.publish("status", status, "status");
  }
}
