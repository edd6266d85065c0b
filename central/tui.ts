/**
 * The terminal edge of Central's panel (central/panel.ts renders): takes over the terminal
 * (alternate screen, hidden cursor, raw keyboard), redraws when something changed and every
 * second for the clock, reads command lines, and collects log records as the panel's
 * messages through a LogTape sink, so logs never scroll over the table. Tab switches to the audit
 * view (central/panel_audit.ts renders) and back (Esc too); there a typed CP id filters it.
 * `restore <id>` asks for a reason on the command line (Esc cancels), then restores the CP
 * (central/panel_restore.ts).
 *
 * @module
 */
import type { LogRecord, Sink } from "../shared/log.ts";
import type { Lang } from "../shared/i18n.ts";
import { translate } from "../shared/i18n.ts";
import { getLogger } from "../shared/log.ts";
import { enterScreen, leaveScreen, noColorRequested } from "../shared/terminal.ts";
import { PANEL_TEXT, type PanelMessage, panelView, parseCommand, renderPanel } from "./panel.ts";
import { renderAuditView } from "./panel_audit.ts";
import { RestorePrompt } from "./panel_restore.ts";
import type { CpRestorer } from "./cp_restore.ts";
import { stateText } from "../shared/vocabulary.ts";
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
  #input = "";
  #feedback = "";
  /** Credentials a restore could not hand to the CP: shown until the next line is entered. */
  #shownOnce: string | null = null;
  #restore: RestorePrompt | undefined;
  /** The audit view (Tab): whether it is shown, and the CP it is filtered by ("" for all). */
  readonly #audit = { open: false, cpId: "" };
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
    this.#restore = new RestorePrompt(restorer, this.#lang);
    Deno.stdin.setRaw(true);
    this.#write(enterScreen());
    // The audit view reads the log each draw: once a second is enough for it, not every step.
    this.#unsubscribe = runtime.subscribe(() => this.#dirty ||= !this.#audit.open);
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
    if (this.#audit.open) {
      const { cpId } = this.#audit;
      const page = runtime.auditPage({
        limit: Math.max(1, rows),
        ...(cpId === "" ? {} : { cpId }),
      });
      const view = { now: new Date(), records: page.items, total: page.total, cpId };
      return this.#write(renderAuditView({ ...view, input: this.#input }, options));
    }
    const view = panelView(runtime.model, {
      now: new Date(),
      requests: runtime.store.recentRequests(5),
      messages: this.#messages,
      input: this.#input,
      feedback: this.#feedback,
      prompt: this.#restore?.prompt,
      shownOnce: this.#shownOnce,
    });
    this.#write(renderPanel(view, options));
  }

  async #readKeys(runtime: CentralRuntime): Promise<void> {
    this.#reader = Deno.stdin.readable.getReader();
    for (;;) {
      const { value, done } = await this.#reader.read();
      if (done) return;
      // A lone ESC is the Esc key (an arrow key sends ESC with more): out of the audit view, or
      // no restore after all.
      if (value.length === 1 && value[0] === 0x1b) {
        if (this.#restore?.prompt) this.#feedback = this.#restore.cancel();
        else this.#audit.open = false;
        this.#input = "";
      } else for (const byte of value) this.#key(runtime, byte);
      this.#dirty = true;
    }
  }

  /** One key: raw mode gives bytes, so the panel edits the command line itself. */
  #key(runtime: CentralRuntime, byte: number): void {
    if (byte === 0x03 || byte === 0x04) return this.#onQuit(); // Ctrl-C, Ctrl-D
    if (byte === 0x09 && !this.#restore?.prompt) {
      // Tab: the audit view and back; what was typed belongs to the view it was typed in.
      this.#audit.open = !this.#audit.open;
      this.#input = "";
    } else if (byte === 0x0d || byte === 0x0a) {
      const line = this.#input;
      this.#input = "";
      this.#shownOnce = null;
      if (this.#restore?.prompt) this.#giveReason(line);
      else if (this.#audit.open) this.#audit.cpId = line.trim();
      else this.#run(runtime, line);
    } else if (byte === 0x7f || byte === 0x08) {
      this.#input = this.#input.slice(0, -1);
    } else if (byte >= 0x20 && byte < 0x7f && this.#input.length < 80) {
      this.#input += String.fromCharCode(byte); // commands and CP ids are ASCII
    }
  }

  #run(runtime: CentralRuntime, line: string): void {
    const command = parseCommand(line, this.#lang);
    if ("error" in command) {
      this.#feedback = command.error;
      return;
    }
    if (command.type === "quit") return this.#onQuit();
    const { cpId } = command;
    if (cpId !== undefined && !runtime.model.cps.has(cpId)) {
      this.#feedback = translate(PANEL_TEXT, this.#lang, "noCp", { id: cpId });
      return;
    }
    const now = Date.now();
    const reason = "from Central's panel";
    switch (command.type) {
      case "stop":
      case "resume":
        runtime.dispatch(
          command.type === "stop"
            ? { type: "stop", cpId, reason: "admin" }
            : { type: "resume", cpId },
          now,
        );
        // The core audits security actions itself; these admin commands are audited here.
        runtime.audit({
          actor: "admin",
          action: `cp.${command.type}`,
          outcome: "ok",
          params: { cpId: cpId ?? "*", via: "panel" },
        });
        break;
      case "rotate":
      case "revoke":
        runtime.dispatch({
          type: "revoke_keys",
          cpId: command.cpId,
          rotate: command.type === "rotate",
        }, now);
        break;
      case "security":
        runtime.dispatch({
          type: "set_security",
          cpId: command.cpId,
          status: command.status,
          reason,
        }, now);
        break;
      case "restore":
        // Nothing happens before the reason: the prompt asks for it.
        this.#feedback = "";
        return this.#restore?.open(command.cpId);
    }
    const cp = cpId === undefined ? undefined : runtime.model.cps.get(cpId);
    const id = cpId ?? translate(PANEL_TEXT, this.#lang, "all");
    this.#feedback = cp === undefined ? `${command.type} ${id}: ✓` : translate(
      PANEL_TEXT,
      this.#lang,
      "done",
      { command: command.type, id, state: stateText(cp.status, this.#lang), security: cp.security },
    );
  }

  /** The reason a restore asked for: restores, saying so meanwhile and once done. */
  #giveReason(reason: string): void {
    this.#restore!.submit(reason, (meanwhile) => this.#feedback = meanwhile).then(
      (said) => {
        this.#feedback = said.feedback;
        this.#shownOnce = said.shownOnce;
        this.#dirty = true;
      },
      (error) => {
        this.#feedback = String(error?.message ?? error);
        this.#dirty = true;
        log.error("Restore from the panel failed: {error}", { error });
      },
    );
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
