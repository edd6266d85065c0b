/**
 * The dashboard's panels: active sessions, drivers, weather and the audit log (the CP
 * grid is web/cp_grid.tsx). Each takes only the part of the state it shows and is memoised, so
 * a batch of telemetry re-renders only the panels whose part it changed; long lists show their
 * first {@link LIST_LIMIT} entries (a search finds the rest).
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import type { ComponentChildren } from "preact";
import { memo } from "preact/compat";
import {
  type AuditView,
  type DashboardState,
  type DriverView,
  filterAudit,
  type SessionView,
} from "./state.ts";

/** Entries a list panel shows at most. */
export const LIST_LIMIT = 25;

const kwh = (n: number | null) => n === null ? "–" : `${n.toFixed(2)} kWh`;
const eur = (n: number | null) => n === null ? "–" : `${n.toFixed(2)} €`;
const byText = (a: string, b: string) => a < b ? -1 : a > b ? 1 : 0;
const time = (iso: string | null) =>
  iso === null ? "–" : new Date(iso).toLocaleTimeString([], { hour12: false });

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

/** "and n more" under a list cut at {@link LIST_LIMIT}. */
function More(props: { total: number; shown: number; what: string }) {
  if (props.total <= props.shown) return null;
  return <p class="more-count">and {props.total - props.shown} more {props.what}</p>;
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
      {s.ended_at !== null && <td>{s.end_reason}</td>}
    </tr>
  );
});

/** Open sessions (the newest {@link LIST_LIMIT}) and the newest tickets. */
export const Sessions = memo(function Sessions(props: {
  active: DashboardState["active"];
  recent: DashboardState["recent"];
}) {
  const all = Object.values(props.active);
  const active = all.sort((a, b) => byText(b.started_at, a.started_at)).slice(0, LIST_LIMIT);
  const recent = props.recent.slice(0, 8);
  return (
    <Panel title="Sessions" count={all.length}>
      {active.length === 0 ? <p class="empty">Nobody is charging.</p> : (
        <table>
          <thead>
            <tr>
              <th scope="col">CP</th>
              <th scope="col">driver</th>
              <th scope="col">since</th>
              <th scope="col" class="num">energy</th>
              <th scope="col" class="num">amount</th>
            </tr>
          </thead>
          <tbody>{active.map((s) => <SessionRow key={s.id} s={s} />)}</tbody>
        </table>
      )}
      <More total={all.length} shown={active.length} what="open sessions" />
      {recent.length > 0 && (
        <>
          <h3>Latest tickets</h3>
          <table data-testid="tickets">
            <thead>
              <tr>
                <th scope="col">CP</th>
                <th scope="col">driver</th>
                <th scope="col">started</th>
                <th scope="col" class="num">energy</th>
                <th scope="col" class="num">amount</th>
                <th scope="col">ended by</th>
              </tr>
            </thead>
            <tbody>{recent.map((s) => <SessionRow key={s.id} s={s} />)}</tbody>
          </table>
        </>
      )}
    </Panel>
  );
});

const DriverLine = memo(function DriverLine(props: { d: DriverView }) {
  const { d } = props;
  const s = d.current_session ?? d.last_session;
  return (
    <li data-driver={d.id}>
      <strong>{d.id}</strong>
      <span class="muted">
        {d.sessions} sessions · {d.kwh.toFixed(1)} kWh · {d.eur.toFixed(2)} €
      </span>
      <span>
        {s === null
          ? "no session yet"
          : d.current_session
          ? `charging at ${s.cp_id}: ${kwh(s.kwh)}`
          : `last: ${s.cp_id}, ${kwh(s.kwh)}, ${eur(s.eur)} (${s.end_reason})`}
      </span>
    </li>
  );
});

/** Every driver seen (the first {@link LIST_LIMIT} that match the search), with its session. */
export const Drivers = memo(function Drivers(props: { drivers: DashboardState["drivers"] }) {
  const search = useSignal("");
  const ids = Object.keys(props.drivers);
  const text = search.value.trim().toLowerCase();
  const matching = (text === "" ? ids : ids.filter((id) => id.toLowerCase().includes(text)))
    .sort(byText);
  const shown = matching.slice(0, LIST_LIMIT);
  return (
    <Panel title="Drivers" count={ids.length}>
      {ids.length > LIST_LIMIT && (
        <div class="filters">
          <input
            type="search"
            placeholder="search: driver id"
            aria-label="search drivers by id"
            value={search.value}
            onInput={(e) => search.value = (e.target as HTMLInputElement).value}
          />
        </div>
      )}
      {ids.length === 0
        ? <p class="empty">No driver yet.</p>
        : <ul class="list">{shown.map((id) => <DriverLine key={id} d={props.drivers[id]} />)}</ul>}
      <More total={matching.length} shown={shown.length} what="drivers" />
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
    <Panel title="Weather">
      {reports.length === 0
        ? <p class="empty">No report from the weather office.</p>
        : (
          <ul class="list">
            {reports.map((w) => (
              <li key={w.cp_id} class={w.status === "alert" ? "alert" : ""}>
                <strong>{w.city}</strong>
                <span>{w.cp_id}</span>
                <span class="num">{w.temperature.toFixed(1)} °C</span>
                <span>{w.status === "alert" ? "ALERT: stopped" : "clear"}</span>
              </li>
            ))}
          </ul>
        )}
      <More total={all.length} shown={reports.length} what="reports" />
    </Panel>
  );
});

const AuditRow = memo(function AuditRow(props: { r: AuditView }) {
  const { r } = props;
  const params = Object.entries(r.params).map(([k, v]) => `${k}=${v}`).join(" ");
  return (
    <tr class={`o-${r.outcome}`}>
      <td>{time(r.ts)}</td>
      <td>{r.actor}</td>
      <td>{r.action}</td>
      <td>{r.outcome}</td>
      <td class="params">{params}</td>
    </tr>
  );
});

/** The live audit log with a text and an outcome filter. */
export const AuditLog = memo(function AuditLog(props: { audit: DashboardState["audit"] }) {
  const text = useSignal("");
  const outcome = useSignal("");
  const shown = filterAudit(props.audit, { text: text.value, outcome: outcome.value })
    .slice(0, 150);
  return (
    <Panel title="Audit log" count={props.audit.length}>
      <div class="filters">
        <input
          type="search"
          placeholder="filter: actor, action, CP…"
          aria-label="audit filter"
          value={text.value}
          onInput={(e) => text.value = (e.target as HTMLInputElement).value}
        />
        <select
          aria-label="outcome"
          value={outcome.value}
          onChange={(e) => outcome.value = (e.target as HTMLSelectElement).value}
        >
          <option value="">every outcome</option>
          <option value="ok">ok</option>
          <option value="denied">denied</option>
          <option value="failed">failed</option>
          <option value="rejected">rejected</option>
        </select>
      </div>
      <div class="scroll">
        <table class="audit">
          <thead>
            <tr>
              <th scope="col">time</th>
              <th scope="col">actor</th>
              <th scope="col">action</th>
              <th scope="col">outcome</th>
              <th scope="col">details</th>
            </tr>
          </thead>
          <tbody>{shown.map((r) => <AuditRow key={r.seq} r={r} />)}</tbody>
        </table>
      </div>
    </Panel>
  );
});
