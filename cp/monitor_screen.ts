/**
 * The CP monitor's terminal screen: Central link, engine health, key version, last event.
 *
 * @module
 */
import { row } from "../shared/screen.ts";
import type { MonitorView } from "./monitor.ts";
import { paint } from "./terminal.ts";

/** The monitor's screen: Central link, engine health, key version, last event. */
export function renderMonitorScreen(view: MonitorView, logLines: readonly string[]): string[] {
  const c = view.central;
  const central = c.state === "logged_in"
    ? paint.green(`logged in at ${c.address}`)
    : c.state === "gave_up"
    ? paint.red(`GAVE UP: ${c.detail}`)
    : c.state === "waiting"
    ? paint.orange(
      `retry in ${Math.max(0, ((c.retryAt ?? 0) - Date.now()) / 1000).toFixed(0)} s — ${c.detail}`,
    )
    : paint.grey(`${c.state} ${c.address}`);
  const engine = view.engine.health === "OK" ? paint.green("OK") : paint.red(
    view.engine.connected ? "KO (fault)" : `KO (unreachable at ${view.engine.address})`,
  );
  const cp = view.cp
    ? `${view.cp.location} · ${view.cp.priceEurKwh} €/kWh · ${view.cp.powerKw} kW`
    : paint.grey("not logged in yet");
  return [
    paint.bold(`EVCharging CP monitor ${view.cpId}`),
    "",
    row("central", central),
    row("engine", engine),
    row("key", view.keyVersion === undefined ? paint.grey("none") : `version ${view.keyVersion}`),
    row("cp", cp),
    row("last event", view.lastEvent ?? paint.grey("none")),
    "",
    paint.grey("  q quit"),
    "",
    ...logLines.map((l) => paint.grey(`  ${l}`)),
  ];
}
