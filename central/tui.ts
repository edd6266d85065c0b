/**
 * The terminal edge of Central's panel (central/panel.ts renders): takes over the terminal
 * (alternate screen, hidden cursor, raw keyboard), redraws when something changed and every
 * second for the clock, hands each key to central/panel_keys.ts and performs what it asks (a
 * command, a restore, quitting), and collects log records as the panel's
 * messages through a LogTape sink, so logs never scroll over the table. Tab switches to the audit
 * view (central/panel_audit.ts renders) and back (Esc too); there a typed CP id filters it.
 * `restore <id>` asks for a reason on the command line (Esc cancels), then restores the CP
 * (central/panel_restore.ts).
 *
 * @module
 */
import type { LogRecord, Sink } from "../shared/log.ts";
import type { Lang } from "../shared/i18n.ts";
import { getLogger } from "../shared/log.ts";
import { enterScreen, leaveScreen, noColorRequested } from "../shared/terminal.ts";
import { type PanelMessage, panelView, renderPanel } from "./panel.ts";
import { renderAuditView } from "./panel_audit.ts";
import {
  handleKey,
  keysOf,
  type PanelAction,
  type PanelState,
  performCommand,
  START_STATE,
} from "./panel_keys.ts";
import { restoreCp, restorePrompt } from "./panel_restore.ts";
import type { CpRestorer } from "./cp_restore.ts";
import type { CentralRuntime } from "./runtime.ts";

const log = getLogger(["evcharging", "central", "panel"]);

const MAX_MESSAGES = 50;
const FRAME_MS = 100;

/**
 * The live panel on the process's terminal. Made before Central starts, so its {@link sink}
 * collects the start-up logs too; {@link start} then draws the running Central.
 */
export class TerminalPanel {
  /** Feeds log records into the panel's message list; give it to `setupLogging`. */
  readonly sink: Sink;
  readonly #onQuit: () => void;
  readonly #lang: Lang;
  #started = false;
  readonly #messages: PanelMessage[] = [];
  readonly #encoder = new TextEncoder();
  /** Colours unless `NO_COLOR` is set (the panel runs only on a terminal). */
  readonly #color = !noColorRequested();
  /** The command line, its feedback, the audit view and a restore's prompt (panel_keys.ts). */
  #state: PanelState = START_STATE;
  #restorer: Pick<CpRestorer, "restore"> | undefined;
  #dirty = true;
  #lastDraw = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #unsubscribe: (() => void) | undefined;

  /** `onQuit` is called on `q` or Ctrl-C: the process should shut down; `lang` words the panel. */
  constructor(onQuit: () => void, lang: Lang) {
    this.#onQuit = onQuit;
    this.#lang = lang;
    this.sink = (record: LogRecord) => {
      // Central's own messages from info up; the libraries' (Kafka, framing) only when wrong.
      const own = record.category[1] === "central";
      if (
        !own && record.level !== "warning" && record.level !== "error" && record.level !== "fatal"
      ) {
        return;
      }
      this.#messages.unshift({
        at: new Date(record.timestamp).toISOString(),
        level: record.level,
        text: renderMessage(record.message),
      });
      this.#messages.length = Math.min(this.#messages.length, MAX_MESSAGES);
      this.#dirty = true;
    };
  }

  /**
   * Takes over the terminal and starts drawing `runtime` and reading keys; `restorer` restores
   * REVOKED CPs (the REST route's, so one restore at a time per CP holds for both).
   */
  start(runtime: CentralRuntime, restorer: Pick<CpRestorer, "restore">): void {
    this.#started = true;
    this.#restorer = restorer;
    Deno.stdin.setRaw(true);
    this.#write(enterScreen());
    // The audit view reads the log each draw: once a second is enough for it, not every step.
    this.#unsubscribe = runtime.subscribe(() => this.#dirty ||= !this.#state.audit.open);
    this.#timer = setInterval(() => {
      // Redraw on change, and every second anyway for the clock.
      if (this.#dirty || Date.now() - this.#lastDraw >= 1000) this.#draw(runtime);
    }, FRAME_MS);
    this.#readKeys(runtime).catch((error) =>
      log.error("Keyboard input failed: {error}", { error })
    );
  }

  /** Gives the terminal back as it was (nothing to do if it was never started). */
  async stop(): Promise<void> {
    if (!this.#started) return;
    clearInterval(this.#timer);
    this.#unsubscribe?.();
    await this.#reader?.cancel().catch(() => {});
    this.#write(leaveScreen());
    Deno.stdin.setRaw(false);
  }

  #draw(runtime: CentralRuntime): void {
    const { columns, rows } = Deno.consoleSize();
    this.#dirty = false;
    this.#lastDraw = Date.now();
    const options = { width: columns, height: rows, color: this.#color, lang: this.#lang };
    const { line, feedback, shownOnce, audit, restoring } = this.#state;
    if (audit.open) {
      const { cpId } = audit;
      const page = runtime.auditPage({
        limit: Math.max(1, rows),
        ...(cpId === "" ? {} : { cpId }),
      });
      const view = { now: new Date(), records: page.items, total: page.total, cpId };
      return this.#write(renderAuditView({ ...view, input: line }, options));
    }
    const view = panelView(runtime.model, {
      now: new Date(),
      requests: runtime.store.recentRequests(5),
      messages: this.#messages,
      input: line,
      feedback,
      prompt: restoring === null ? null : restorePrompt(restoring, this.#lang),
      shownOnce,
    });
    this.#write(renderPanel(view, options));
  }

  async #readKeys(runtime: CentralRuntime): Promise<void> {
    this.#reader = Deno.stdin.readable.getReader();
    const ctx = { lang: this.#lang, knows: (id: string) => runtime.model.cps.has(id) };
    for (;;) {
      const { value, done } = await this.#reader.read();
      if (done) return;
      for (const key of keysOf(value)) {
        const next = handleKey(this.#state, key, ctx);
        this.#state = next.state;
        for (const action of next.actions) this.#perform(runtime, action);
      }
      this.#dirty = true;
    }
  }

  #perform(runtime: CentralRuntime, action: PanelAction): void {
    if (action.type === "quit") return this.#onQuit();
    if (action.type === "command") {
      const feedback = performCommand(runtime, action.command, this.#lang, Date.now());
      this.#state = { ...this.#state, feedback };
      return;
    }
    restoreCp(this.#restorer!, action.cpId, action.reason, this.#lang).then(
      (said) => this.#said(said.feedback, said.shownOnce),
      (error) => {
        this.#said(String(error?.message ?? error), null);
        log.error("Restore from the panel failed: {error}", { error });
      },
    );
  }

  /** What a restore said, once done. */
  #said(feedback: string, shownOnce: string | null): void {
    this.#state = { ...this.#state, feedback, shownOnce };
    this.#dirty = true;
  }

  #write(text: string): void {
    const bytes = this.#encoder.encode(text);
    for (let done = 0; done < bytes.length;) done += Deno.stdout.writeSync(bytes.subarray(done));
  }
}

/** A LogTape message (text and values interleaved) as one line. */
function renderMessage(parts: readonly unknown[]): string {
  return parts.map((part, i) =>
    i % 2 === 0 || typeof part === "string" ? String(part) : JSON.stringify(part) ?? String(part)
  ).join("");
}
