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
import { fmt, lang, t } from "./lang.ts";
import { ct } from "./show.ts";
import {
  CP_STATE_WORDS,
  DEREGISTERED_WORD,
  KEY_REVOKED_WORD,
  stateLabel,
  stateName,
  stopReasonText,
} from "../shared/vocabulary.ts";

const orDash = (n: number | null, format: (n: number) => string) => n === null ? "–" : format(n);

function Tile(props: { cp: CpView; weather?: WeatherView; admin: boolean }) {
  const { cp, weather } = props;
  const f = fmt();
  const l = lang.value;
  return (
    <article class={`tile s-${cp.state.toLowerCase()}`} data-cp={cp.id} data-state={cp.state}>
      <header>
        <a class="cp-id" href={cpHref(cp.id)}>
          <strong>{cp.id}</strong>
        </a>
        {cp.protocol === "ocpp1.6" && (
          <span class="badge" data-field="protocol" title={ct("protocolTitle")}>
            OCPP 1.6J
          </span>
        )}
        <span class="where">{cp.location}</span>
      </header>
      <div class="state" data-field="state">{stateName(cp.state, l)}</div>
      {cp.state === "STOPPED" && (
        <div class="reason">
          <span data-field="label">{stateLabel(cp.state, l)}</span>
          {" · "}
          <span data-field="reason">{stopReasonText(cp.stop_reason ?? "admin", l)}</span>
        </div>
      )}
      {cp.state === "SUPPLYING"
        ? (
          <dl class="figures">
            <dt>{t("driver")}</dt>
            <dd data-field="driver">{cp.driver_id}</dd>
            <dt>{t("power")}</dt>
            <dd data-field="kw">{orDash(cp.kw, f.kw)}</dd>
            <dt>{t("energy")}</dt>
            <dd data-field="kwh">{orDash(cp.kwh, f.kwh)}</dd>
            <dt>{t("amount")}</dt>
            <dd data-field="eur">{orDash(cp.eur, f.eur)}</dd>
          </dl>
        )
        : (
          <dl class="figures muted">
            <dt>{t("rated")}</dt>
            <dd>{f.kw(cp.power_kw)}</dd>
            <dt>{t("price")}</dt>
            <dd data-field="price">{f.pricePerKwh(cp.price_eur_kwh)}</dd>
          </dl>
        )}
      <footer>
        {weather && (
          <span class={weather.status === "alert" ? "chip alert" : "chip"}>
            {f.celsius(weather.temperature)}
          </span>
        )}
        {cp.deregistered_at !== null && <span class="chip alert">{DEREGISTERED_WORD[l]}</span>}
        {cp.security !== "ACTIVE" && (
          <span class="chip alert" data-field="security">{ct(`sec_${cp.security}`)}</span>
        )}
        {cp.key_revoked && (
          <span class="chip alert" data-field="key-revoked">{KEY_REVOKED_WORD[l]}</span>
        )}
        {cp.key_version !== null && (
          <span class="chip">{t("key", { version: cp.key_version })}</span>
        )}
      </footer>
      {props.admin && <CpActions cp={cp} />}
    </article>
  );
}

/** One CP tile in its state's colour; re-renders only when its CP, weather or mode change. */
export const CpTile = memo(Tile);

const STATES = Object.keys(CP_STATE_WORDS.en) as CpView["state"][];

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
      <Panel title={t("chargingPoints")} count={0}>
        <p class="empty">{t("noCps")}</p>
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
    <Panel title={t("chargingPoints")} count={order.length}>
      <div class="filters" role="search" aria-label={ct("gridSearch")}>
        <input
          type="search"
          placeholder={t("search")}
          aria-label={t("searchLabel")}
          data-testid="cp-search"
          value={filter.value.text}
          onInput={(e) => set({ text: (e.target as HTMLInputElement).value })}
        />
        <select
          aria-label={t("city")}
          data-testid="cp-city"
          value={filter.value.city}
          onChange={(e) => set({ city: (e.target as HTMLSelectElement).value })}
        >
          <option value="">{t("everyCity")}</option>
          {summary.cities.map((c) => <option key={c} value={c}>{c}</option>)}
        </select>
        <select
          aria-label={t("state")}
          data-testid="cp-state"
          value={filter.value.state}
          onChange={(e) =>
            set({ state: (e.target as HTMLSelectElement).value as CpView["state"] | "" })}
        >
          <option value="">{t("everyState")}</option>
          {STATES.map((s) => (
            <option key={s} value={s}>{stateName(s, lang.value)} ({summary.byState[s]})</option>
          ))}
        </select>
      </div>
      <p class="state-counts" data-testid="state-counts">
        {STATES.filter((s) => summary.byState[s] > 0).map((s) => (
          <span key={s} class={`count-chip s-${s.toLowerCase()}`} data-count={s}>
            {stateName(s, lang.value)}: {summary.byState[s]}
          </span>
        ))}
      </p>
      {shown.matching === 0 ? <p class="empty">{t("noMatch")}</p> : (
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
        <nav class="pager" aria-label={ct("gridPages")}>
          <button
            type="button"
            disabled={shown.page === 0}
            onClick={() => page.value = shown.page - 1}
          >
            {t("previous")}
          </button>
          <span data-testid="cp-page">
            {t("pageOf", {
              first,
              last,
              matching: shown.matching,
              page: shown.page + 1,
              pages: shown.pages,
            })}
          </span>
          <button
            type="button"
            disabled={shown.page >= shown.pages - 1}
            onClick={() => page.value = shown.page + 1}
          >
            {t("next")}
          </button>
        </nav>
      )}
    </Panel>
  );
}
