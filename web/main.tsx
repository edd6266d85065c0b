/**
 * The dashboard: a Preact app bundled and served by Central at `/`, live from
 * Central's `/events` stream. Layout: health and admin bar on top, the CP grid, then sessions,
 * drivers, weather and the audit log; one column on a phone.
 *
 * @module
 */
import { render } from "preact";
import { AdminBar, CpManager, LocalCps, Notice } from "./admin_views.tsx";
import { connect, dashboard, online } from "./live.ts";
import { CpGrid } from "./cp_grid.tsx";
import { AuditLog, Drivers, HealthBar, Panel, Sessions, Weather } from "./views.tsx";
import { adminToken } from "./admin.ts";

function App() {
  const state = dashboard.value;
  return (
    <>
      {!online.value && (
        <div class="offline" role="alert" data-testid="offline">
          Central is unreachable: reconnecting… (what you see may be out of date)
        </div>
      )}
      <header class="top">
        <h1>
          <span class="logo">⚡</span> EVCharging
        </h1>
        {state && <HealthBar status={state.status} />}
        <AdminBar />
      </header>
      <Notice />
      {state === null ? <p class="loading">Loading the network…</p> : (
        <main>
          <CpGrid cps={state.cps} order={state.cpOrder} weather={state.weather} />
          <div class="columns">
            <Sessions active={state.active} recent={state.recent} />
            <Drivers drivers={state.drivers} />
            <Weather weather={state.weather} />
          </div>
          {adminToken.value !== null && (
            <Panel title="CP manager">
              <CpManager enabled={state.registryAdmin} />
              <LocalCps enabled={state.localCps} />
            </Panel>
          )}
          <AuditLog audit={state.audit} />
          <p class="foot">
            API: <a href="/docs">/docs</a> · <a href="/openapi.json">/openapi.json</a>
          </p>
        </main>
      )}
    </>
  );
}

connect();
render(<App />, document.getElementById("app")!);
