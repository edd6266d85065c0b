/**
 * The dashboard's panels: active sessions, drivers, weather and the audit log (the CP
 * grid is web/cp_grid.tsx). Each takes only the part of the state it shows and is memoised, so
 * a batch of telemetry re-renders only the panels whose part it changed; long lists show their
 * first {@link LIST_LIMIT} entries (a search finds the rest).
 *
 * @module
 */
import { type Signal, useSignal } from "@preact/signals";
import type { ComponentChildren } from "preact";
import { memo } from "preact/compat";
import {
  type AuditView,
  type DashboardState,
  type DriverView,
  filterAudit,
  liveSession,
  newestSessions,
  type SessionView,
} from "./state.ts";
import { fmt, lang, t } from "./lang.ts";
import { ct, ctOr } from "./show.ts";
import { endReasonText } from "../shared/vocabulary.ts";

/** Entries a list panel shows at most. */
export const LIST_LIMIT = 25;

const kwh = (n: number | null) => n === null ? "–" : fmt().kwh(n);
const eur = (n: number | null) => n === null ? "–" : fmt().eur(n);
const byText = (a: string, b: string) => a < b ? -1 : a > b ? 1 : 0;
const time = (iso: string | null) => iso === null ? "–" : fmt().time(new Date(iso));
const ended = (reason: string | null) => reason === null ? "–" : endReasonText(reason, lang.value);

/** A titled panel. */
export function Panel(props: { title: string; count?: number; children: ComponentChildren }) {
  return (
    <section class="panel">
      <h2>
        {props.title}
        {props.count !== undefined && <span class="count">{props.count}</span>}
      </h2>
      {props.children}
    </section>
  );
}

/** A search field that keeps what is typed in `text`; `label` names it for screen readers. */
export function SearchBox(props: { text: Signal<string>; placeholder: string; label: string }) {
  const { text } = props;
  return (
    <input
      type="search"
      placeholder={props.placeholder}
      aria-label={props.label}
      value={text.value}
      onInput={(e) => text.value = (e.target as HTMLInputElement).value}
    />
  );
}

/** A column header: its label, or a column of figures (right-aligned) as `{ num: label }`. */
type Column = string | { num: string };

/**
 * A table's header: one row naming its `columns` (a `false` one is left out). Each is a
 * `<th scope="col">`, so a screen reader names every cell by its column (issue 22).
 */
function HeaderRow(props: { columns: readonly (Column | false)[] }) {
  return (
    <thead>
      <tr>
        {props.columns.map((c, i) =>
          c === false
            ? null
            : typeof c === "string"
            ? <th key={i} scope="col">{c}</th>
            : <th key={i} scope="col" class="num">{c.num}</th>
        )}
      </tr>
    </thead>
  );
}

/**
 * A table under its `columns`, its `children` the body's rows, in a box that scrolls when it
 * is long: a region named `label` that the keyboard can reach, as axe-core asks of
 * scrollable content.
 */
export function ScrollTable(props: {
  label: string;
  class: string;
  testid?: string;
  columns: readonly (Column | false)[];
  children: ComponentChildren;
}) {
  return (
    <div class="scroll" tabIndex={0} role="region" aria-label={props.label}>
      <table class={props.class} data-testid={props.testid}>
        <HeaderRow columns={props.columns} />
        <tbody>{props.children}</tbody>
      </table>
    </div>
  );
}

/** "and n more" under a list cut at {@link LIST_LIMIT}. */
function More(props: { total: number; shown: number; what: string }) {
  if (props.total <= props.shown) return null;
  return <p class="more-count">{t("more", { n: props.total - props.shown, what: props.what })}</p>;
}

const SessionRow = memo(function SessionRow(props: { s: SessionView }) {
  const { s } = props;
  return (
    <tr data-session={s.id}>
      <td>{s.cp_id}</td>
      <td>{s.driver_id}</td>
      <td>{time(s.started_at)}</td>
      <td class="num">{kwh(s.kwh)}</td>
      <td class="num">{eur(s.eur)}</td>
      {s.ended_at !== null && <td>{ended(s.end_reason)}</td>}
    </tr>
  );
});

/** A table of `sessions` as given: open ones since they started, or `tickets` with who ended them. */
function SessionTable(
  props: { sessions: readonly SessionView[]; tickets: boolean; testid?: string },
) {
  return (
    <table data-testid={props.testid}>
      <HeaderRow
        columns={[
          "CP",
          t("driver"),
          t(props.tickets ? "started" : "since"),
          { num: t("energy") },
          { num: t("amount") },
          props.tickets && t("endedBy"),
        ]}
      />
      <tbody>{props.sessions.map((s) => <SessionRow key={s.id} s={s} />)}</tbody>
    </table>
  );
}

/**
 * Open sessions (the newest {@link LIST_LIMIT}, with their CPs' figures now) and the newest
 * tickets.
 */
export const Sessions = memo(function Sessions(props: {
  active: DashboardState["active"];
  recent: DashboardState["recent"];
  cps: DashboardState["cps"];
}) {
  const count = Object.keys(props.active).length;
  const active = newestSessions(props.active, LIST_LIMIT).map((s) => liveSession(s, props.cps));
  const recent = props.recent.slice(0, 8);
  return (
    <Panel title={t("sessions")} count={count}>
      {active.length === 0
        ? <p class="empty">{t("nobody")}</p>
        : <SessionTable sessions={active} tickets={false} />}
      <More total={count} shown={active.length} what={t("openSessions")} />
      {recent.length > 0 && (
        <>
          <h3>{t("latestTickets")}</h3>
          <SessionTable sessions={recent} tickets testid="tickets" />
        </>
      )}
    </Panel>
  );
});

/** `d` with its current session's figures from its CP (the same object when none changed). */
function liveDriver(d: DriverView, cps: DashboardState["cps"]): DriverView {
  const current = d.current_session && liveSession(d.current_session, cps);
  return current === d.current_session ? d : { ...d, current_session: current };
}

const DriverLine = memo(function DriverLine(props: { d: DriverView }) {
  const { d } = props;
  const s = d.current_session ?? d.last_session;
  return (
    <li data-driver={d.id}>
      <strong>{d.id}</strong>
      <span class="muted">
        {t("driverSessions", { n: d.sessions })} · {fmt().kwh(d.kwh, 1)} · {fmt().eur(d.eur)}
      </span>
      <span>
        {s === null
          ? t("noSession")
          : d.current_session
          ? t("chargingAt", { cp: s.cp_id, kwh: kwh(s.kwh) })
          : t("last", {
            cp: s.cp_id,
            kwh: kwh(s.kwh),
            eur: eur(s.eur),
            reason: ended(s.end_reason),
          })}
      </span>
    </li>
  );
});

/**
 * Every driver seen (the first {@link LIST_LIMIT} that match the search), with its session and
 * the figures of the one it is in now.
 */
export const Drivers = memo(function Drivers(props: {
  drivers: DashboardState["drivers"];
  cps: DashboardState["cps"];
}) {
  const search = useSignal("");
  const ids = Object.keys(props.drivers);
  const text = search.value.trim().toLowerCase();
  const matching = (text === "" ? ids : ids.filter((id) => id.toLowerCase().includes(text)))
    .sort(byText);
  const shown = matching.slice(0, LIST_LIMIT);
  return (
    <Panel title={t("drivers")} count={ids.length}>
      {ids.length > LIST_LIMIT && (
        <div class="filters">
          <SearchBox
            text={search}
            placeholder={t("searchDrivers")}
            label={ct("searchDriversLabel")}
          />
        </div>
      )}
      {ids.length === 0 ? <p class="empty">{t("noDriver")}</p> : (
        <ul class="list">
          {shown.map((id) => <DriverLine key={id} d={liveDriver(props.drivers[id], props.cps)} />)}
        </ul>
      )}
      <More total={matching.length} shown={shown.length} what={t("drivers").toLowerCase()} />
    </Panel>
  );
});

/** The weather office's last report per CP, alerts first (the first {@link LIST_LIMIT}). */
export const Weather = memo(function Weather(props: { weather: DashboardState["weather"] }) {
  const all = Object.values(props.weather);
  const reports = all.sort((a, b) =>
    (a.status === b.status ? 0 : a.status === "alert" ? -1 : 1) || byText(a.cp_id, b.cp_id)
  ).slice(0, LIST_LIMIT);
  return (
    <Panel title={t("weather")}>
      {reports.length === 0 ? <p class="empty">{t("noWeather")}</p> : (
        <ul class="list">
          {reports.map((w) => (
            <li key={w.cp_id} class={w.status === "alert" ? "alert" : ""}>
              <strong>{w.city}</strong>
              <span>{w.cp_id}</span>
              <span class="num">{fmt().celsius(w.temperature)}</span>
              <span>{w.status === "alert" ? t("alertStopped") : t("clear")}</span>
            </li>
          ))}
        </ul>
      )}
      <More total={all.length} shown={reports.length} what={t("reports")} />
    </Panel>
  );
});

/** The outcomes an audit record has (shared/messages.ts `auditOutcomeSchema`), for the filter. */
const AUDIT_OUTCOMES = ["ok", "denied", "failed", "rejected"] as const;

const AuditRow = memo(function AuditRow(props: { r: AuditView }) {
  const { r } = props;
  const params = Object.entries(r.params).map(([k, v]) => `${k}=${v}`).join(" ");
  const when = new Date(r.ts);
  // A driver's address is what its host said of itself over Kafka, not what a socket saw.
  const selfReported = r.params.origin === "self_reported";
  return (
    <tr class={`o-${r.outcome}`}>
      <td data-field="date">{fmt().date(when)}</td>
      <td data-field="time">{fmt().time(when)}</td>
      <td data-field="origin" title={selfReported ? t("selfReported") : undefined}>
        {r.origin_ip ?? "–"}
        {selfReported && <span class="muted">*</span>}
      </td>
      <td>{r.actor}</td>
      <td>{r.action}</td>
      <td data-field="outcome">{ctOr(`outcome_${r.outcome}`, r.outcome)}</td>
      <td class="params">{params}</td>
    </tr>
  );
});

/**
 * Audit records the log shows at most: the newest, in a scrolled box (the filter searches all
 * the page keeps); a busy network writes hundreds a second, and each shown one costs a row.
 */
export const AUDIT_ROWS = 50;

/** The live audit log with a text and an outcome filter. */
export const AuditLog = memo(function AuditLog(props: { audit: DashboardState["audit"] }) {
  const text = useSignal("");
  const outcome = useSignal("");
  const matching = filterAudit(props.audit, { text: text.value, outcome: outcome.value });
  const shown = matching.slice(0, AUDIT_ROWS);
  return (
    <Panel title={t("auditLog")} count={props.audit.length}>
      <div class="filters">
        <SearchBox text={text} placeholder={t("auditFilter")} label={ct("auditFilterLabel")} />
        <select
          aria-label={ct("auditOutcome")}
          value={outcome.value}
          onChange={(e) => outcome.value = (e.target as HTMLSelectElement).value}
        >
          <option value="">{t("everyOutcome")}</option>
          {AUDIT_OUTCOMES.map((o) => <option key={o} value={o}>{ct(`outcome_${o}`)}</option>)}
        </select>
      </div>
      <ScrollTable
        label={ct("auditRecords")}
        class="audit"
        columns={[
          t("date"),
          t("time"),
          t("origin"),
          t("actor"),
          t("action"),
          t("outcome"),
          t("details"),
        ]}
      >
        {shown.map((r) => <AuditRow key={r.seq} r={r} />)}
      </ScrollTable>
      <More total={matching.length} shown={shown.length} what={ct("auditRecords")} />
    </Panel>
  );
});
