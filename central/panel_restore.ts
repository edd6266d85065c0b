/**
 * The terminal panel's restore (`restore <id>`): the panel asks for a reason on its command line,
 * then restores the CP as `POST /cps/{id}/restore` does (central/cp_restore.ts: new credentials
 * from the Registry, security ACTIVE, audited as `security.restore` with the reason), and says
 * what happened in the panel's language. Credentials Central could not hand to the CP itself
 * are shown once, on a line of their own, for the operator to copy; they are never logged.
 *
 * No terminal here: central/panel_keys.ts asks for the reason, central/tui.ts draws what it says.
 *
 * @module
 */
import { type Catalog, type Lang, translate } from "../shared/i18n.ts";
import { noticeText } from "../shared/notices.ts";
import type { CpRestorer, NotRestored } from "./cp_restore.ts";

type Key = "ask" | "needReason" | "restoring" | "done" | "copy" | "failed" | "cancelled";

/** The restore's texts in both languages. */
export const RESTORE_TEXT: Catalog<Key> = {
  en: {
    ask: "reason for restoring {id} (Enter restores it with new credentials, Esc cancels):",
    needReason: "a restore needs a reason (Esc cancels)",
    restoring: "restoring {id}…",
    done: "restore {id}: security {security}; {delivery}",
    copy: "new credentials of {id}, shown this once: {credentials}",
    failed: "restore {id} failed: {why}",
    cancelled: "restore {id} cancelled",
  },
  es: {
    ask: "motivo para restaurar {id} (Intro lo restaura con credenciales nuevas, Esc cancela):",
    needReason: "una restauración necesita un motivo (Esc cancela)",
    restoring: "restaurando {id}…",
    done: "restaurar {id}: seguridad {security}; {delivery}",
    copy: "credenciales nuevas de {id}, mostradas solo esta vez: {credentials}",
    failed: "restaurar {id} falló: {why}",
    cancelled: "restauración de {id} cancelada",
  },
};

/** What the panel shows after a line. */
export interface RestoreSaid {
  /** The feedback beside the prompt. */
  readonly feedback: string;
  /** Credentials to show this once on a line of their own, or null. */
  readonly shownOnce: string | null;
}

/** The command line's label while the panel asks for the reason to restore `cpId`. */
export function restorePrompt(cpId: string, lang: Lang): string {
  return translate(RESTORE_TEXT, lang, "ask", { id: cpId });
}

/**
 * Restores `cpId` through `restorer`, audited with `reason` (central/panel_keys.ts asks for it),
 * and says what happened in `lang`.
 */
export async function restoreCp(
  restorer: Pick<CpRestorer, "restore">,
  cpId: string,
  reason: string,
  lang: Lang,
): Promise<RestoreSaid> {
  const t = (key: Key, params: Readonly<Record<string, string | number>>) =>
    translate(RESTORE_TEXT, lang, key, params);
  const done = await restorer.restore(cpId, { reason });
  if (!done.ok) {
    return { feedback: t("failed", { id: cpId, why: why(done, lang) }), shownOnce: null };
  }
  const delivery = noticeText(done.delivery, lang);
  return {
    feedback: t("done", { id: cpId, security: done.cp.security, delivery }),
    shownOnce: done.delivered ? null : t("copy", { id: cpId, credentials: done.credentials }),
  };
}

function why(failed: NotRestored, lang: Lang): string {
  if ("registryError" in failed) {
    const e = failed.registryError as { detail?: unknown; message?: unknown };
    return String(typeof e?.detail === "string" ? e.detail : e?.message ?? e);
  }
  return noticeText(failed.detail, lang);
}
