/**
 * The CP engine's terminal screen: state in colour, session, figures, key, last command, in
 * English or Spanish (the shared state words; es-ES numbers and money).
 *
 * @module
 */
import { DEFAULT_LANG, formats, type Lang } from "../shared/i18n.ts";
import { row } from "../shared/screen.ts";
import { packItems } from "../shared/terminal.ts";
import { stateText } from "../shared/vocabulary.ts";
import type { EngineView } from "./engine.ts";
import { paint } from "./terminal.ts";
import { cpSay, type CpTextKey } from "./words.ts";

/** The engine's screen: state in colour, session, figures, key, last command. */
export function renderEngineScreen(
  view: EngineView,
  logLines: readonly string[],
  keysHelp?: string,
  lang: Lang = DEFAULT_LANG,
): string[] {
  const t = (key: CpTextKey, params?: Record<string, string | number>) => cpSay(lang, key, params);
  const f = formats(lang);
  const state = stateText({ state: view.state, stopReason: view.stopReason }, lang);
  const coloured = view.state === "STOPPED" ? paint.orange(state) : paint.green(state);
  const health = view.health === "OK" ? paint.green("OK") : paint.red(t("fault"));
  const s = view.session;
  const session = s === undefined ? [row(t("session"), paint.grey(t("none")))] : [
    row(t("session"), t("sessionFor", { session: s.sessionId, driver: s.driverId })),
    row(
      t("supply"),
      s.plugged
        ? `${f.kw(s.kw)}   ${f.kwh(s.kwh, 3)}   ${f.eur(s.eur)}` +
          paint.grey(`  (${f.pricePerKwh(s.priceEurKwh)})`)
        : paint.orange(t("waitingVehicle")),
    ),
  ];
  return [
    paint.bold(t("engineTitle", { cp: view.cpId ?? paint.grey(t("idUnknown")) })),
    "",
    row(t("state"), coloured),
    row(t("health"), health),
    ...session,
    row(
      t("key"),
      view.keyVersion === undefined
        ? paint.red(t("noneYet"))
        : t("version", { n: view.keyVersion }),
    ),
    row(
      t("monitor"),
      view.monitorConnected
        ? paint.green(t("connected"))
        : paint.grey(t("waitingOn", { port: view.port })),
    ),
    row("kafka", view.kafkaReady ? paint.green(t("connected")) : paint.orange(t("connecting"))),
    row(
      t("telemetry"),
      view.pendingTelemetry === 0 ? t("sent") : t("waitingCount", { n: view.pendingTelemetry }),
    ),
    row(t("lastCommand"), view.lastCommand ?? paint.grey(t("none"))),
    "",
    ...packItems(keysHelp ?? t("engineKeys")).map((l) => paint.grey(l)),
    "",
    ...logLines.map((l) => paint.grey(`  ${l}`)),
  ];
}
