/**
 * The CP grid: one tile per CP in its state's colour, with a search box, city and state filters
 * and a count per state; above a few dozen CPs grouped by city and shown one page at a time
 * (web/grid.ts). Tiles are memoised: a batch of events re-renders only the tiles whose CP (or
 * weather report) it changed.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import { memo } from "preact/compat";
import { adminToken } from "./admin.ts";
import { CpActions } from "./admin_views.tsx";
import { cpHref } from "./route.ts";
import { gridPage, gridSummary, NO_FILTER, PAGE_SIZE } from "./grid.ts";
import type { CpView, WeatherView } from "./state.ts";
import { Panel } from "./views.tsx";

const kwh = (n: number | null) => n === null ? "–" : `${n.toFixed(2)} kWh`;
const eur = (n: number | null) => n === null ? "–" : `${n.toFixed(2)} €`;
const kw = (n: number | null) => n === null ? "–" : `${n.toFixed(1)} kW`;

/** What each state is called on screen. */
export const STATE_LABEL: Record<CpView["state"], string> = {
  ACTIVATED: "Available",
  SUPPLYING: "Charging",
  STOPPED: "Out of Order",
  BROKEN: "Broken",
  DISCONNECTED: "Disconnected",
};

/** What each stop reason is called on screen. */
export const REASON_LABEL: Record<string, string> = {
  admin: "stopped by an operator",
  weather: "stopped for the weather",
  out_of_service: "out of service",
  revoked: "revoked",
};

function Tile(props: { cp: CpView; weather?: WeatherView; admin: boolean }) {
  const { cp, weather } = props;
  return (
    <article class={`tile s-${cp.state.toLowerCase()}`} data-cp={cp.id} data-state={cp.state}>
      <header>
        <a class="cp-id" href={cpHref(cp.id)}>
          <strong>{cp.id}</strong>
        </a>
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
      {props.admin && <CpActions cp={cp} />}
    </article>
  );
}

/** One CP tile in its state's colour; re-renders only when its CP, weather or mode change. */
export const CpTile = memo(Tile);

const STATES = Object.keys(STATE_LABEL) as CpView["state"][];

/** Every CP: searchable, filterable, grouped by city and paged when there are many. */
export function CpGrid(props: {
  cps: Readonly<Record<string, CpView>>;
  order: readonly string[];
  weather: Readonly<Record<string, WeatherView>>;
}) {
  const filter = useSignal(NO_FILTER);
  const page = useSignal(0);
  const { cps, order, weather } = props;
  const admin = adminToken.value !== null;
  if (order.length === 0) {
    return (
      <Panel title="Charging points" count={0}>
        <p class="empty">No CP has logged in yet.</p>
      </Panel>
    );
  }
  const summary = gridSummary(cps);
  const shown = gridPage(cps, order, filter.value, page.value);
  const set = (change: Partial<typeof NO_FILTER>) => {
    filter.value = { ...filter.value, ...change };
    page.value = 0;
  };
  const first = shown.page * PAGE_SIZE + 1;
  const last = Math.min(shown.matching, (shown.page + 1) * PAGE_SIZE);
  return (
    <Panel title="Charging points" count={order.length}>
      <div class="filters" role="search" aria-label="charging points">
        <input
          type="search"
          placeholder="search: CP id or city"
          aria-label="search charging points by id or city"
          data-testid="cp-search"
          value={filter.value.text}
          onInput={(e) => set({ text: (e.target as HTMLInputElement).value })}
        />
        <select
          aria-label="city"
          data-testid="cp-city"
          value={filter.value.city}
          onChange={(e) => set({ city: (e.target as HTMLSelectElement).value })}
        >
          <option value="">every city</option>
          {summary.cities.map((c) => <option key={c} value={c}>{c}</option>)}
        </select>
        <select
          aria-label="state"
          data-testid="cp-state"
          value={filter.value.state}
          onChange={(e) =>
            set({ state: (e.target as HTMLSelectElement).value as CpView["state"] | "" })}
        >
          <option value="">every state</option>
          {STATES.map((s) => (
            <option key={s} value={s}>{STATE_LABEL[s]} ({summary.byState[s]})</option>
          ))}
        </select>
      </div>
      <p class="state-counts" data-testid="state-counts">
        {STATES.filter((s) => summary.byState[s] > 0).map((s) => (
          <span key={s} class={`count-chip s-${s.toLowerCase()}`} data-count={s}>
            {STATE_LABEL[s]}: {summary.byState[s]}
          </span>
        ))}
      </p>
      {shown.matching === 0 ? <p class="empty">No CP matches.</p> : (
        <div data-testid="cp-grid">
          {shown.groups.map((g) => (
            <section key={g.city} class="city" data-city={g.city}>
              {g.city !== "" && <h3>{g.city}</h3>}
              <div class="grid">
                {g.cps.map((cp) => (
                  <CpTile key={cp.id} cp={cp} weather={weather[cp.id]} admin={admin} />
                ))}
              </div>
            </section>
          ))}
        </div>
      )}
      {shown.pages > 1 && (
        <nav class="pager" aria-label="pages of charging points">
          <button
            type="button"
            disabled={shown.page === 0}
            onClick={() => page.value = shown.page - 1}
          >
            ‹ Previous
          </button>
          <span data-testid="cp-page">
            {first}–{last} of {shown.matching} (page {shown.page + 1} of {shown.pages})
          </span>
          <button
            type="button"
            disabled={shown.page >= shown.pages - 1}
            onClick={() => page.value = shown.page + 1}
          >
            Next ›
          </button>
        </nav>
      )}
    </Panel>
  );
}
