/**
 * The terminal panel's restore (`restore <id>`): the panel asks for a reason on its command line,
 * then restores the CP as `POST /cps/{id}/restore` does (central/cp_restore.ts: new credentials
 * from the Registry, security ACTIVE, audited as `security.restore` with the reason), and says
 * what happened in the panel's language. Credentials Central could not hand to the CP itself
 * are shown once, on a line of their own, for the operator to copy; they are never logged.
 *
 * No terminal here: central/tui.ts feeds it the typed lines and draws what it says.
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

/** The reason prompt of one restore at a time, and the restore it starts. */
export class RestorePrompt {
  readonly #restorer: Pick<CpRestorer, "restore">;
  readonly #lang: Lang;
  #asking: string | null = null;

  /** Restores through `restorer`, wording it in `lang`. */
  constructor(restorer: Pick<CpRestorer, "restore">, lang: Lang) {
    this.#restorer = restorer;
    this.#lang = lang;
  }

  /** The prompt while a reason is asked for (the command line's label), else null. */
  get prompt(): string | null {
    return this.#asking === null ? null : this.#t("ask", { id: this.#asking });
  }

  /** Asks for the reason to restore `cpId`. */
  open(cpId: string): void {
    this.#asking = cpId;
  }

  /** Gives up asking; what to say (nothing when nothing was asked). */
  cancel(): string {
    const id = this.#asking;
    this.#asking = null;
    return id === null ? "" : this.#t("cancelled", { id });
  }

  /**
   * The typed `reason`: with none, asks again; else restores and resolves to what to show once
   * done (`started` is told at once, with what to show meanwhile).
   */
  async submit(reason: string, started: (feedback: string) => void): Promise<RestoreSaid> {
    const id = this.#asking;
    const text = reason.trim();
    if (id === null) return { feedback: "", shownOnce: null };
    if (text === "") return { feedback: this.#t("needReason"), shownOnce: null };
    this.#asking = null;
    started(this.#t("restoring", { id }));
    const done = await this.#restorer.restore(id, { reason: text });
    if (!done.ok) {
      return { feedback: this.#t("failed", { id, why: this.#why(done) }), shownOnce: null };
    }
    const delivery = noticeText(done.delivery, this.#lang);
    return {
      feedback: this.#t("done", { id, security: done.cp.security, delivery }),
      shownOnce: done.delivered ? null : this.#t("copy", { id, credentials: done.credentials }),
    };
  }

  #why(failed: NotRestored): string {
    if ("registryError" in failed) {
      const e = failed.registryError as { detail?: unknown; message?: unknown };
      return String(typeof e?.detail === "string" ? e.detail : e?.message ?? e);
    }
    return noticeText(failed.detail, this.#lang);
  }

  #t(key: Key, params?: Readonly<Record<string, string | number>>): string {
    return translate(RESTORE_TEXT, this.#lang, key, params);
  }
}
