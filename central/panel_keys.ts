/**
 * The keyboard of Central's terminal panel, the pure part: {@link keysOf} reads what the terminal
 * sends in raw mode as keys, and {@link handleKey} turns one key into the panel's next state
 * (the command line, the feedback beside it, the audit view, a restore's reason prompt) and the
 * actions to perform (a command, a restore, quitting). {@link performCommand} carries out a
 * command on the runtime and says what it did. central/tui.ts is the terminal edge: it reads
 * stdin, performs the actions and draws.
 *
 * @module
 */
import { type Lang, translate } from "../shared/i18n.ts";
import { noticeText } from "../shared/notices.ts";
import { stateText } from "../shared/vocabulary.ts";
import { type Input, securityRefusalNotice } from "./core.ts";
import { PANEL_TEXT, type PanelCommand, parseCommand } from "./panel.ts";
import { RESTORE_TEXT } from "./panel_restore.ts";
import type { CentralRuntime } from "./runtime.ts";

/** A key: a byte of ASCII or a control key (Enter, Tab, Backspace, Ctrl-C …), or Esc alone. */
export type PanelKey = number | "esc";

/** What the panel's keyboard has made of it so far. */
export interface PanelState {
  /** The line being typed (a command, the audit filter, or a restore's reason). */
  readonly line: string;
  /** What the last line did, or why it failed. */
  readonly feedback: string;
  /** Credentials a restore could not hand to the CP: shown until the next line is entered. */
  readonly shownOnce: string | null;
  /** The audit view (Tab): whether it is shown, and the CP it is filtered by ("" for all). */
  readonly audit: { readonly open: boolean; readonly cpId: string };
  /** The CP whose restore asks for a reason, or null. */
  readonly restoring: string | null;
}

/** The panel as it starts: the CP table, nothing typed. */
export const START_STATE: PanelState = {
  line: "",
  feedback: "",
  shownOnce: null,
  audit: { open: false, cpId: "" },
  restoring: null,
};

/** A command the runtime carries out (quit and restore are actions of their own). */
export type RuntimeCommand = Exclude<PanelCommand, { type: "quit" } | { type: "restore" }>;

/** What the edge must do after a key. */
export type PanelAction =
  | { readonly type: "quit" }
  | { readonly type: "command"; readonly command: RuntimeCommand }
  /** Restore `cpId` with new credentials, audited with `reason`. */
  | { readonly type: "restore"; readonly cpId: string; readonly reason: string };

/** What {@link handleKey} needs to know of the world. */
export interface KeyContext {
  /** The panel's language. */
  readonly lang: Lang;
  /** Whether Central knows the CP `id`. */
  readonly knows: (id: string) => boolean;
}

const ESC = 0x1b;
const MAX_LINE = 80;

/**
 * The keys in one read of a raw terminal. A lone ESC is the Esc key; an escape sequence (an arrow
 * or function key: ESC `[` or ESC `O`, then up to its final letter) is no key the panel uses and
 * is dropped, so it never types `[A` into the line.
 */
export function keysOf(chunk: Uint8Array): PanelKey[] {
  if (chunk.length === 1 && chunk[0] === ESC) return ["esc"];
  const keys: PanelKey[] = [];
  for (let i = 0; i < chunk.length; i++) {
    if (chunk[i] !== ESC) {
      keys.push(chunk[i]);
      continue;
    }
    const intro = chunk[i + 1];
    // ESC before any other key (Alt and that key): the ESC is dropped, the key kept.
    if (intro !== 0x5b && intro !== 0x4f) continue;
    // Parameters and intermediates (0x20–0x3f) up to the final byte (0x40–0x7e).
    let j = i + 2;
    while (j < chunk.length && chunk[j] >= 0x20 && chunk[j] <= 0x3f) j++;
    i = j;
  }
  return keys;
}

/** The panel's next state after `key`, and what to do. */
export function handleKey(
  state: PanelState,
  key: PanelKey,
  ctx: KeyContext,
): { state: PanelState; actions: PanelAction[] } {
  const same = { state, actions: [] };
  if (key === "esc") {
    // Out of the audit view, or no restore after all.
    if (state.restoring !== null) {
      const feedback = translate(RESTORE_TEXT, ctx.lang, "cancelled", { id: state.restoring });
      return { state: { ...state, line: "", restoring: null, feedback }, actions: [] };
    }
    return { state: { ...state, line: "", audit: { ...state.audit, open: false } }, actions: [] };
  }
  if (key === 0x03 || key === 0x04) return { state, actions: [{ type: "quit" }] }; // Ctrl-C, -D
  if (key === 0x09) {
    // Tab: the audit view and back; what was typed belongs to the view it was typed in.
    if (state.restoring !== null) return same;
    return {
      state: { ...state, line: "", audit: { ...state.audit, open: !state.audit.open } },
      actions: [],
    };
  }
  if (key === 0x0d || key === 0x0a) {
    return enter({ ...state, line: "", shownOnce: null }, state.line, ctx);
  }
  if (key === 0x7f || key === 0x08) {
    return { state: { ...state, line: state.line.slice(0, -1) }, actions: [] };
  }
  if (key >= 0x20 && key < 0x7f && state.line.length < MAX_LINE) {
    // Commands, CP ids and reasons typed here are ASCII.
    return { state: { ...state, line: state.line + String.fromCharCode(key) }, actions: [] };
  }
  return same;
}

/** Enter on `line`: a restore's reason, the audit filter, or a command. */
function enter(
  state: PanelState,
  line: string,
  ctx: KeyContext,
): { state: PanelState; actions: PanelAction[] } {
  if (state.restoring !== null) {
    const reason = line.trim();
    if (reason === "") {
      return {
        state: { ...state, feedback: translate(RESTORE_TEXT, ctx.lang, "needReason") },
        actions: [],
      };
    }
    const cpId = state.restoring;
    const feedback = translate(RESTORE_TEXT, ctx.lang, "restoring", { id: cpId });
    return {
      state: { ...state, restoring: null, feedback },
      actions: [{ type: "restore", cpId, reason }],
    };
  }
  if (state.audit.open) {
    return { state: { ...state, audit: { open: true, cpId: line.trim() } }, actions: [] };
  }
  const command = parseCommand(line, ctx.lang);
  if ("error" in command) return { state: { ...state, feedback: command.error }, actions: [] };
  if (command.type === "quit") return { state, actions: [{ type: "quit" }] };
  const { cpId } = command;
  if (cpId !== undefined && !ctx.knows(cpId)) {
    const feedback = translate(PANEL_TEXT, ctx.lang, "noCp", { id: cpId });
    return { state: { ...state, feedback }, actions: [] };
  }
  // Nothing happens before a restore's reason: the prompt asks for it.
  if (command.type === "restore") {
    return { state: { ...state, feedback: "", restoring: command.cpId }, actions: [] };
  }
  return { state, actions: [{ type: "command", command }] };
}

/** What the panel records of its own commands: they come from the operator at the panel. */
const PANEL_REASON = "from Central's panel";

/** The core's input for `command`. */
function inputOf(command: RuntimeCommand): Input {
  switch (command.type) {
    case "stop":
      return { type: "stop", cpId: command.cpId, reason: "admin" };
    case "resume":
      return { type: "resume", cpId: command.cpId };
    case "rotate":
    case "revoke":
      return { type: "revoke_keys", cpId: command.cpId, rotate: command.type === "rotate" };
    case "security":
      return {
        type: "set_security",
        cpId: command.cpId,
        status: command.status,
        reason: PANEL_REASON,
      };
  }
}

/**
 * Carries out `command` on `runtime` at `now` (epoch ms) and says what it did in `lang`: the CP's state and
 * security after it, or why the core refused it (it audits the refusal itself).
 */
export function performCommand(
  runtime: CentralRuntime,
  command: RuntimeCommand,
  lang: Lang,
  now: number,
): string {
  const before = command.cpId === undefined ? undefined : runtime.model.cps.get(command.cpId);
  const refused = before === undefined || command.type === "stop" || command.type === "resume"
    ? null
    : securityRefusalNotice(
      before,
      command.type === "security"
        ? { type: "set_security", status: command.status }
        : { type: "revoke_keys", rotate: command.type === "rotate" },
    );
  runtime.dispatch(inputOf(command), now);
  if (command.type === "stop" || command.type === "resume") {
    // The core audits security actions itself; these admin commands are audited here.
    runtime.audit({
      actor: "admin",
      action: `cp.${command.type}`,
      outcome: "ok",
      params: { cpId: command.cpId ?? "*", via: "panel" },
    });
  }
  if (refused !== null) return noticeText(refused, lang);
  const cp = command.cpId === undefined ? undefined : runtime.model.cps.get(command.cpId);
  const id = command.cpId ?? translate(PANEL_TEXT, lang, "all");
  if (cp === undefined) return `${command.type} ${id}: ✓`;
  return translate(PANEL_TEXT, lang, "done", {
    command: command.type,
    id,
    state: stateText(cp.status, lang),
    security: cp.security,
  });
}
