/**
 * The CP engine's terminal screen: state in colour, session, figures, key, last command.
 *
 * @module
 */
import { row } from "../shared/screen.ts";
import type { EngineView } from "./engine.ts";
import { paint } from "./terminal.ts";

/** The keys the engine reads itself. */
const ENGINE_KEYS_HELP = "p plug in   u unplug   f fault on/off   q quit";

/** The engine's screen: state in colour, session, figures, key, last command. */
export function renderEngineScreen(
  view: EngineView,
  logLines: readonly string[],
  keysHelp = ENGINE_KEYS_HELP,
): string[] {
  const stateText = view.state === "STOPPED"
    ? paint.orange(`STOPPED — Out of Order${view.stopReason ? ` (${view.stopReason})` : ""}`)
    : paint.green(view.state);
  const health = view.health === "OK" ? paint.green("OK") : paint.red("KO (fault)");
  const s = view.session;
  const session = s === undefined ? [row("session", paint.grey("none"))] : [
    row("session", `${s.sessionId} for driver ${s.driverId}`),
    row(
      "supply",
      s.plugged
        ? `${s.kw.toFixed(1)} kW   ${s.kwh.toFixed(3)} kWh   ${s.eur.toFixed(2)} €` +
          paint.grey(`  (${s.priceEurKwh} €/kWh)`)
        : paint.orange("waiting for the vehicle: press p to plug in"),
    ),
  ];
  return [
    paint.bold(`EVCharging CP engine ${view.cpId ?? paint.grey("(CP id not known yet)")}`),
    "",
    row("state", stateText),
    row("health", health),
    ...session,
    row(
      "key",
      view.keyVersion === undefined ? paint.red("none yet") : `version ${view.keyVersion}`,
    ),
    row(
      "monitor",
      view.monitorConnected ? paint.green("connected") : paint.grey(`waiting on :${view.port}`),
    ),
    row("kafka", view.kafkaReady ? paint.green("connected") : paint.orange("connecting")),
    row("telemetry", view.pendingTelemetry === 0 ? "sent" : `${view.pendingTelemetry} waiting`),
    row("last command", view.lastCommand ?? paint.grey("none")),
    "",
    paint.grey(`  ${keysHelp}`),
    "",
    ...logLines.map((l) => paint.grey(`  ${l}`)),
  ];
}
