/**
 * The dashboard: a Preact app bundled and served by Central at `/`, live from
 * Central's `/events` stream. Layout: status pills, pages and admin bar on top; the overview
 * (headline figures, the network's chart, the CP grid, then sessions, drivers, weather and the
 * audit log), the history, the alarms and each CP's page (web/route.ts); one column on a phone.
 *
 * @module
 */
import { render } from "preact";
import { AdminBar, CpManager, LocalCps, Notice } from "./admin_views.tsx";
import { connect, dashboard, listed, online } from "./live.ts";
import { CpGrid } from "./cp_grid.tsx";
import { AuditLog, Drivers, Panel, Sessions, Weather } from "./views.tsx";
import { adminToken } from "./admin.ts";
import { ConfirmDialog } from "./confirm_dialog.tsx";
import { AlarmsPage, OpenAlarms } from "./alarms.tsx";
import { PowerChart } from "./charts.tsx";
import { CpPage } from "./cp_page.tsx";
import { PageNav, StatusPills } from "./header.tsx";
import { Headline } from "./headline.tsx";
import { History } from "./history.tsx";
import { startOps } from "./ops.ts";
import { ct } from "./show.ts";
import { route } from "./router.ts";
import type { DashboardState } from "./state.ts";
import { lang, setLang, t } from "./lang.ts";
import { LANGS } from "../shared/i18n.ts";

/** The page the hash names, other than the overview. */
function OtherPage(props: { state: DashboardState }) {
  const r = route.value;
  if (r.page === "history") return <History query={r.query ?? ""} />;
  if (r.page === "alarms") return <AlarmsPage />;
  if (r.page === "cp") return <CpPage id={r.id} state={props.state} />;
  return null;
}

/** The open sessions, from the state as last {@link listed}. */
function ListedSessions() {
  const state = listed.sessions.value;
  return state && <Sessions active={state.active} recent={state.recent} cps={state.cps} />;
}

/** The drivers and the weather, from the state as last {@link listed}. */
function ListedDrivers() {
  const state = listed.drivers.value;
  return state && (
    <>
      <Drivers drivers={state.drivers} cps={state.cps} />
      <Weather weather={state.weather} />
    </>
  );
}

/** The session, driver and weather lists, each re-rendered in a task of its own. */
function Lists() {
  return (
    <div class="columns">
      <ListedSessions />
      <ListedDrivers />
    </div>
  );
}

/** The audit log, from the state as last {@link listed}. */
function ListedAudit() {
  const state = listed.audit.value;
  return state === null ? null : <AuditLog audit={state.audit} />;
}

/** The language switch: one button per language, the current one pressed. */
function LangSwitch() {
  return (
    <div class="lang-switch" role="group" aria-label={t("language")} data-testid="lang-switch">
      {LANGS.map((l) => (
        <button
          key={l}
          type="button"
          lang={l}
          aria-pressed={lang.value === l}
          data-lang={l}
          onClick={() => setLang(l)}
        >
          {l.toUpperCase()}
        </button>
      ))}
    </div>
  );
}

function App() {
  const state = dashboard.value;
  return (
    <>
      {!online.value && (
        <div class="offline" role="alert" data-testid="offline">
          {t("offline")}
        </div>
      )}
      <header class="top">
        <h1>
          <span class="logo">⚡</span> EVCharging
        </h1>
        {state && <StatusPills status={state.status} />}
        <PageNav />
        <LangSwitch />
        <AdminBar />
      </header>
      <Notice />
      <ConfirmDialog />
      {state !== null && route.value.page !== "overview" && (
        <main>
          <OtherPage state={state} />
        </main>
      )}
      {state === null
        ? <p class="loading">{t("loading")}</p>
        : route.value.page === "overview" && (
          <main>
            <Headline />
            <OpenAlarms />
            <Panel title={ct("powerAndEnergy")}>
              <PowerChart cp={null} title={ct("network")} />
            </Panel>
            <CpGrid cps={state.cps} order={state.cpOrder} weather={state.weather} />
            <Lists />
            {adminToken.value !== null && (
              <Panel title={t("cpManager")}>
                <CpManager enabled={state.registryAdmin} />
                <LocalCps enabled={state.localCps} />
              </Panel>
            )}
            <ListedAudit />
            <p class="foot">
              API: <a href="/docs">/docs</a> · <a href="/openapi.json">/openapi.json</a>
            </p>
          </main>
        )}
    </>
  );
}

connect();
startOps();
render(<App />, document.getElementById("app")!);
