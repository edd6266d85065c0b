/**
 * The CP monitor's terminal screen and menu: Central link, what Central shows for the CP (with
 * its maintenance), engine health, key version and token expiry (never the token), the last
 * event and the menu's keys, in English or Spanish; and the one-line status the menu's `S`
 * prints (also under `deno task cp`, where the engine has the screen).
 *
 * @module
 */
import { DEFAULT_LANG, formats, type Lang } from "../shared/i18n.ts";
import { row } from "../shared/screen.ts";
import { stateText } from "../shared/vocabulary.ts";
import type { CentralLinkState, MonitorView } from "./monitor.ts";
import { paint } from "./terminal.ts";
import { cpSay, type CpTextKey } from "./words.ts";

const LINK_WORD: Readonly<Record<CentralLinkState, CpTextKey>> = {
  logged_in: "linkLoggedIn",
  connecting: "linkConnecting",
  waiting: "linkWaiting",
  gave_up: "linkGaveUp",
  stopped: "linkStopped",
};

/** What Central shows for the CP, in words (`—` while not logged in). */
function shownText(view: MonitorView, lang: Lang): string {
  return view.shown === undefined ? "—" : stateText(view.shown, lang);
}

/** When the token of the current login expires, as the language writes a time. */
function expiresText(view: MonitorView, lang: Lang): string | undefined {
  return view.tokenExpiresAt === undefined || view.keyVersion === undefined
    ? undefined
    : formats(lang).time(new Date(view.tokenExpiresAt));
}

/** The monitor's screen: Central link and state, engine, key and token, last event, keys. */
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
  const shownState = view.shown?.state;
  const shown = shownState === undefined
    ? paint.grey("—")
    : shownState === "STOPPED"
    ? paint.orange(shownText(view, lang))
    : shownState === "BROKEN"
    ? paint.red(shownText(view, lang))
    : shownState === "DISCONNECTED"
    ? paint.grey(shownText(view, lang))
    : paint.green(shownText(view, lang));
  const engine = view.engine.health === "OK" ? paint.green("OK") : paint.red(
    view.engine.connected ? t("fault") : t("unreachable", { address: view.engine.address }),
  );
  const cp = view.cp
    ? `${view.cp.location} · ${f.pricePerKwh(view.cp.priceEurKwh)} · ${f.kw(view.cp.powerKw)}`
    : paint.grey(t("notLoggedIn"));
  const maintenance = view.shown?.maintenance === true
    ? paint.orange(t("on"))
    : paint.grey(t("off"));
  return [
    paint.bold(t("monitorTitle", { cp: view.cpId })),
    "",
    row(t("central"), central),
    row(t("shows"), shown),
    row(t("maintenance"), maintenance),
    row(t("engine"), engine),
    row(
      t("key"),
      view.keyVersion === undefined ? paint.grey(t("none")) : t("version", { n: view.keyVersion }),
    ),
    row(t("tokenExpires"), expiresText(view, lang) ?? paint.grey("—")),
    row(t("cp"), cp),
    row(t("lastEvent"), view.lastEvent ?? paint.grey(t("none"))),
    "",
    paint.grey(`  ${t("monitorKeys")}`),
    "",
    ...logLines.map((l) => paint.grey(`  ${l}`)),
  ];
}

/**
 * The menu's `S`: the monitor's status as one line (link, what Central shows, maintenance, key
 * version, token expiry). The token itself is never part of it.
 */
export function monitorStatusLine(view: MonitorView, lang: Lang = DEFAULT_LANG): string {
  const t = (key: CpTextKey, params?: Record<string, string | number>) => cpSay(lang, key, params);
  return t("statusLine", {
    link: t(LINK_WORD[view.central.state]),
    state: shownText(view, lang),
    maintenance: t(view.shown?.maintenance === true ? "on" : "off"),
    key: view.keyVersion === undefined ? t("none") : t("version", { n: view.keyVersion }),
    expires: expiresText(view, lang) ?? "—",
  });
}
