/**
 * The dashboard's panels: health, CP grid (colours of ARCHITECTURE §CP states), active sessions, drivers,
 * weather and the audit log. They only read the state signal (web/live.ts); admin controls
 * come from web/admin_views.tsx.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import type { ComponentChildren } from "preact";
import { adminToken } from "./admin.ts";
import { CpActions } from "./admin_views.tsx";
import {
  type AuditView,
  type CpView,
  type DashboardState,
  type DriverView,
  filterAudit,
  type PartHealth,
  type SessionView,
} from "./state.ts";

const kwh = (n: number | null) => n === null ? "–" : `${n.toFixed(2)} kWh`;
const eur = (n: number | null) => n === null ? "–" : `${n.toFixed(2)} €`;
const kw = (n: number | null) => n === null ? "–" : `${n.toFixed(1)} kW`;
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

const STATE_LABEL: Record<CpView["state"], string> = {
  ACTIVATED: "Available",
  SUPPLYING: "Charging",
  STOPPED: "Out of Order",
  BROKEN: "Broken",
  DISCONNECTED: "Disconnected",
};

const REASON_LABEL: Record<string, string> = {
  admin: "stopped by an operator",
  weather: "stopped for the weather",
  out_of_service: "out of service",
  revoked: "revoked",
};

/** One CP tile in its state's colour. */
export function CpTile(props: { cp: CpView; weather?: DashboardState["weather"][string] }) {
  const { cp, weather } = props;
  return (
    <article class={`tile s-${cp.state.toLowerCase()}`} data-cp={cp.id} data-state={cp.state}>
      <header>
        <strong class="cp-id">{cp.id}</strong>
        <span class="where">{cp.location}</span>
      </header>
      <div class="state" data-field="state">{STATE_LABEL[cp.state]}</div>
      {cp.state === "STOPPED" && (
        <div class="reason" data-field="reason">
          {REASON_LABEL[cp.stop_reason ?? ""] ?? cp.stop_reason}
        </div>
      )}
      {cp.state === "SUPPLYING"
        ? (
          <dl class="figures">
            <dt>driver</dt>
            <dd data-field="driver">{cp.driver_id}</dd>
            <dt>power</dt>
            <dd data-field="kw">{kw(cp.kw)}</dd>
            <dt>energy</dt>
            <dd data-field="kwh">{kwh(cp.kwh)}</dd>
            <dt>amount</dt>
            <dd data-field="eur">{eur(cp.eur)}</dd>
          </dl>
        )
        : (
          <dl class="figures muted">
            <dt>rated</dt>
            <dd>{cp.power_kw} kW</dd>
            <dt>price</dt>
            <dd>{cp.price_eur_kwh.toFixed(2)} €/kWh</dd>
          </dl>
        )}
      <footer>
        {weather && (
          <span class={weather.status === "alert" ? "chip alert" : "chip"}>
            {weather.temperature.toFixed(1)} °C
          </span>
        )}
        {cp.deregistered_at !== null && <span class="chip alert">DEREGISTERED</span>}
        {cp.security !== "ACTIVE" && <span class="chip alert">{cp.security}</span>}
        {cp.key_version !== null && <span class="chip">key v{cp.key_version}</span>}
      </footer>
      {adminToken.value !== null && <CpActions cp={cp} />}
    </article>
  );
}

/** Every CP, by id. */
export function CpGrid(props: { state: DashboardState }) {
  const cps = Object.values(props.state.cps).sort((a, b) => a.id.localeCompare(b.id));
  return (
    <Panel title="Charging points" count={cps.length}>
      {cps.length === 0
        ? <p class="empty">No CP has logged in yet.</p>
        : (
          <div class="grid" data-testid="cp-grid">
            {cps.map((cp) => <CpTile key={cp.id} cp={cp} weather={props.state.weather[cp.id]} />)}
          </div>
        )}
    </Panel>
  );
}

function Health(props: { name: string; part: PartHealth; extra?: string }) {
  return (
    <div class={`health h-${props.part.status}`} title={props.part.detail} data-health={props.name}>
      <span class="dot" />
      <span class="name">{props.name}</span>
      <span class="detail">{props.extra ?? props.part.detail}</span>
    </div>
  );
}

/** Kafka, Registry and weather office as Central sees them. */
export function HealthBar(props: { state: DashboardState }) {
  const { kafka, registry, weather } = props.state.status;
  const ago = weather.last_report_at === null
    ? "no report yet"
    : `last report ${time(weather.last_report_at)}${
      weather.alerts > 0 ? `, ${weather.alerts} alert${weather.alerts > 1 ? "s" : ""}` : ""
    }`;
  return (
    <div class="healthbar">
      <Health name="Kafka" part={kafka} />
      <Health name="Registry" part={registry} />
      <Health name="Weather office" part={weather} extra={ago} />
    </div>
  );
}

function SessionRow(props: { s: SessionView }) {
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
}

/** Open sessions and the newest tickets. */
export function Sessions(props: { state: DashboardState }) {
  const active = Object.values(props.state.active).sort((a, b) =>
    b.started_at.localeCompare(a.started_at)
  );
  const recent = props.state.recent.slice(0, 8);
  return (
    <Panel title="Sessions" count={active.length}>
      {active.length === 0 ? <p class="empty">Nobody is charging.</p> : (
        <table>
          <thead>
            <tr>
              <th>CP</th>
              <th>driver</th>
              <th>since</th>
              <th class="num">energy</th>
              <th class="num">amount</th>
            </tr>
          </thead>
          <tbody>{active.map((s) => <SessionRow key={s.id} s={s} />)}</tbody>
        </table>
      )}
      {recent.length > 0 && (
        <>
          <h3>Latest tickets</h3>
          <table data-testid="tickets">
            <tbody>{recent.map((s) => <SessionRow key={s.id} s={s} />)}</tbody>
          </table>
        </>
      )}
    </Panel>
  );
}

function DriverLine(props: { d: DriverView }) {
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
}

/** Every driver seen, with its current or last session. */
export function Drivers(props: { state: DashboardState }) {
  const drivers = Object.values(props.state.drivers).sort((a, b) => a.id.localeCompare(b.id));
  return (
    <Panel title="Drivers" count={drivers.length}>
      {drivers.length === 0
        ? <p class="empty">No driver yet.</p>
        : <ul class="list">{drivers.map((d) => <DriverLine key={d.id} d={d} />)}</ul>}
    </Panel>
  );
}

/** The weather office's last report per CP, alerts first. */
export function Weather(props: { state: DashboardState }) {
  const reports = Object.values(props.state.weather).sort((a, b) =>
    (a.status === b.status ? 0 : a.status === "alert" ? -1 : 1) || a.cp_id.localeCompare(b.cp_id)
  );
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
    </Panel>
  );
}

function AuditRow(props: { r: AuditView }) {
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
}

/** The live audit log with a text and an outcome filter. */
export function AuditLog(props: { state: DashboardState }) {
  const text = useSignal("");
  const outcome = useSignal("");
  const shown = filterAudit(props.state.audit, { text: text.value, outcome: outcome.value })
    .slice(0, 150);
  return (
    <Panel title="Audit log" count={props.state.audit.length}>
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
          <tbody>{shown.map((r) => <AuditRow key={r.seq} r={r} />)}</tbody>
        </table>
      </div>
    </Panel>
  );
}
