/**
 * The CP monitor's terminal screen: Central link, engine health, key version, last event, in
 * English or Spanish.
 *
 * @module
 */
import { DEFAULT_LANG, formats, type Lang } from "../shared/i18n.ts";
import { row } from "../shared/screen.ts";
import type { MonitorView } from "./monitor.ts";
import { paint } from "./terminal.ts";
import { cpSay, type CpTextKey } from "./words.ts";

/** The monitor's screen: Central link, engine health, key version, last event. */
export function renderMonitorScreen(
  view: MonitorView,
  logLines: readonly string[],
  lang: Lang = DEFAULT_LANG,
): string[] {
  const t = (key: CpTextKey, params?: Record<string, string | number>) => cpSay(lang, key, params);
  const f = formats(lang);
  const c = view.central;
  const central = c.state === "logged_in"
    ? paint.green(t("loggedIn", { address: c.address }))
    : c.state === "gave_up"
    ? paint.red(t("gaveUp", { detail: c.detail ?? "" }))
    : c.state === "waiting"
    ? paint.orange(t("retryIn", {
      seconds: Math.max(0, ((c.retryAt ?? 0) - Date.now()) / 1000).toFixed(0),
      detail: c.detail ?? "",
    }))
    : paint.grey(`${c.state} ${c.address}`);
  const engine = view.engine.health === "OK" ? paint.green("OK") : paint.red(
    view.engine.connected ? t("fault") : t("unreachable", { address: view.engine.address }),
  );
  const cp = view.cp
    ? `${view.cp.location} · ${f.pricePerKwh(view.cp.priceEurKwh)} · ${f.kw(view.cp.powerKw)}`
    : paint.grey(t("notLoggedIn"));
  return [
    paint.bold(t("monitorTitle", { cp: view.cpId })),
    "",
    row(t("central"), central),
    row(t("engine"), engine),
    row(
      t("key"),
      view.keyVersion === undefined ? paint.grey(t("none")) : t("version", { n: view.keyVersion }),
    ),
    row(t("cp"), cp),
    row(t("lastEvent"), view.lastEvent ?? paint.grey(t("none"))),
    "",
    paint.grey(`  ${t("monitorKeys")}`),
    "",
    ...logLines.map((l) => paint.grey(`  ${l}`)),
  ];
}
