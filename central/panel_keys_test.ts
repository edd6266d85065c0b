/**
 * Central's terminal panel from the keyboard (central/panel_keys.ts), as an operator types:
 * the bytes a raw terminal sends go in, and what the panel shows (its command line, feedback,
 * audit view, restore prompt) and does (a command carried out on a real runtime, a restore, quit)
 * come out. No terminal and no socket: the same functions central/tui.ts drives.
 */
import assert from "node:assert/strict";
import type { Lang } from "../shared/i18n.ts";
import type { Cp } from "./core.ts";
import type { AuditEntry } from "./audit_chain.ts";
import { auditInto, operatorRuntime, T0 } from "./operator_test_support.ts";
import { handleKey, keysOf, performCommand, START_STATE } from "./panel_keys.ts";
import type { PanelAction, PanelState } from "./panel_keys.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const ENTER = "\r";
const TAB = "\t";
const BACKSPACE = "\x7f";

/** The panel over a runtime with CP-1 and CP-2 logged in; `type` sends what a terminal would. */
function panel(lang: Lang = "en") {
  const entries: AuditEntry[] = [];
  const central = operatorRuntime(auditInto(entries));
  central.login("CP-1", T0);
  central.login("CP-2", T0);
  const { runtime } = central;
  const ctx = { lang, knows: (id: string) => runtime.model.cps.has(id) };
  let state: PanelState = START_STATE;
  const actions: PanelAction[] = [];
  /** One read of the terminal: each key handled, each command carried out as tui.ts does. */
  const read = (chunk: Uint8Array) => {
    for (const key of keysOf(chunk)) {
      const next = handleKey(state, key, ctx);
      state = next.state;
      for (const action of next.actions) {
        actions.push(action);
        if (action.type === "command") {
          const feedback = performCommand(runtime, action.command, lang, T0 + 1000);
          state = { ...state, feedback };
        }
      }
    }
  };
  // A literal, not Object.assign: `state` must stay a getter.
  return {
    ...central,
    entries,
    /** Types `text` one key at a time, as a person does. */
    type: (text: string) => [...bytes(text)].forEach((b) => read(Uint8Array.of(b))),
    /** Sends `raw` in one read, as a paste or an arrow key arrives. */
    paste: (raw: string | Uint8Array) => read(typeof raw === "string" ? bytes(raw) : raw),
    esc: () => read(Uint8Array.of(0x1b)),
    get state() {
      return state;
    },
    actions,
    cp: (id: string) => runtime.model.cps.get(id) as Cp,
  };
}

Deno.test("panel keys: typing a stop and Enter stops the CP, clears the line and says so", () => {
  using p = panel();
  p.type("s CP-1");
  assert.equal(p.state.line, "s CP-1", "the line shows what is typed");
  p.type(ENTER);
  assert.equal(p.state.line, "");
  assert.deepEqual(p.actions, [{ type: "command", command: { type: "stop", cpId: "CP-1" } }]);
  assert.equal(p.cp("CP-1").status.state, "STOPPED");
  assert.equal(p.state.feedback, "stop CP-1: STOPPED · Out of Order (admin), security ACTIVE");
  p.type(`r CP-1${ENTER}`);
  assert.equal(p.cp("CP-1").status.state, "ACTIVATED");
});

Deno.test("panel keys: S stops every CP, R resumes them; both are audited as the panel's", () => {
  using p = panel();
  p.type(`S${ENTER}`);
  assert.deepEqual([p.cp("CP-1"), p.cp("CP-2")].map((cp) => cp.status.state), [
    "STOPPED",
    "STOPPED",
  ]);
  assert.equal(p.state.feedback, "stop all: ✓");
  p.type(`R${ENTER}`);
  assert.deepEqual([p.cp("CP-1"), p.cp("CP-2")].map((cp) => cp.status.state), [
    "ACTIVATED",
    "ACTIVATED",
  ]);
  assert.deepEqual(
    p.entries.filter((e) => e.params.via === "panel").map((e) => [e.action, e.params.cpId]),
    [["cp.stop", "*"], ["cp.resume", "*"]],
  );
});

Deno.test("panel keys: Backspace edits the line; control bytes and non-ASCII are not typed; 80 at most", () => {
  using p = panel();
  p.type("s CP-9");
  p.type(BACKSPACE);
  p.paste("\x08"); // Ctrl-H, Backspace on some terminals
  assert.equal(p.state.line, "s CP");
  p.paste(bytes("é\x01\x02"));
  assert.equal(p.state.line, "s CP", "no byte outside printable ASCII is typed");
  p.type("x".repeat(100));
  assert.equal(p.state.line.length, 80);
});

Deno.test("panel keys: an arrow or function key types nothing; Alt and a key types the key", () => {
  using p = panel();
  p.type("s CP-1");
  for (const seq of ["\x1b[A", "\x1b[D", "\x1bOP", "\x1b[15~", "\x1b[1;5C"]) p.paste(seq);
  assert.equal(p.state.line, "s CP-1");
  p.paste("\x1bx");
  assert.equal(p.state.line, "s CP-1x");
  assert.deepEqual(keysOf(bytes("\x1b")), ["esc"], "a lone ESC is the Esc key");
  assert.deepEqual(keysOf(bytes("a\x1b[Bb")), [0x61, 0x62]);
});

Deno.test("panel keys: mistakes are explained in the panel's language and change nothing", () => {
  using en = panel();
  en.type(`stop${ENTER}`);
  assert.equal(en.state.feedback, "stop which CP? e.g. stop CP-001");
  en.type(`s CP-404${ENTER}`);
  assert.equal(en.state.feedback, "no CP CP-404");
  en.type(`fly CP-1${ENTER}`);
  assert.match(en.state.feedback, /^unknown command: s <id> stop/);
  en.type(`rotate all${ENTER}`);
  assert.equal(en.state.feedback, "rotate which CP? e.g. rotate CP-001");
  assert.deepEqual(en.actions, []);
  assert.equal(en.cp("CP-1").status.state, "ACTIVATED");

  using es = panel("es");
  es.type(`s CP-404${ENTER}`);
  assert.equal(es.state.feedback, "no existe el punto CP-404");
  es.type(`s CP-1${ENTER}`);
  assert.equal(
    es.state.feedback,
    "stop CP-1: PARADO · Fuera de servicio (administrador), seguridad ACTIVE",
  );
});

Deno.test("panel keys: Ctrl-C, Ctrl-D and q quit", () => {
  for (const keys of ["\x03", "\x04", `q${ENTER}`, `quit${ENTER}`]) {
    using p = panel();
    p.type(keys);
    assert.deepEqual(p.actions, [{ type: "quit" }], JSON.stringify(keys));
  }
  using p = panel();
  p.type(`q now${ENTER}`);
  assert.deepEqual(p.actions, [], "q with more words is a mistake, not a quit");
});

Deno.test("panel keys: rotate, revoke and security commands; a REVOKED CP's refusal is shown in the panel's language", () => {
  using p = panel("es");
  p.type(`rotate CP-1${ENTER}`);
  assert.equal(p.cp("CP-1").keyVersion, null, "the old key is gone; a new one comes at the login");
  p.type(`ban CP-2${ENTER}`);
  assert.equal(p.cp("CP-2").security, "REVOKED");
  assert.match(p.state.feedback, /^security CP-2: .*seguridad REVOKED$/);
  p.type(`activate CP-2${ENTER}`);
  assert.equal(p.cp("CP-2").security, "REVOKED", "only a restore leaves REVOKED");
  assert.equal(
    p.state.feedback,
    "CP-2 está revocado (REVOKED): solo una restauración (credenciales nuevas) cambia su estado",
  );
  p.type(`rotate CP-2${ENTER}`);
  assert.equal(
    p.state.feedback,
    "CP-2 está revocado (REVOKED): no recibe clave nueva hasta que se restaure",
  );
});

Deno.test("panel keys: Tab opens the audit view, a typed CP id filters it, Enter alone shows all, Tab or Esc goes back", () => {
  using p = panel();
  p.type("s CP");
  p.type(TAB);
  assert.deepEqual(p.state.audit, { open: true, cpId: "" });
  assert.equal(p.state.line, "", "what was typed belongs to the table's view");
  p.type(`CP-2${ENTER}`);
  assert.deepEqual(p.state.audit, { open: true, cpId: "CP-2" });
  assert.deepEqual(p.actions, [], "a line in the audit view is a filter, not a command");
  assert.equal(p.cp("CP-2").status.state, "ACTIVATED");
  p.type(ENTER);
  assert.deepEqual(p.state.audit, { open: true, cpId: "" });
  p.type(`CP-1${ENTER}`);
  p.type(TAB);
  assert.deepEqual(
    p.state.audit,
    { open: false, cpId: "CP-1" },
    "the filter is kept for next time",
  );
  p.type(TAB);
  p.esc();
  assert.equal(p.state.audit.open, false);
});

Deno.test("panel keys: restore asks for a reason (none: asks again), then restores with it; Tab is ignored meanwhile", () => {
  using p = panel();
  p.type(`restore CP-404${ENTER}`);
  assert.equal(p.state.feedback, "no CP CP-404", "no prompt for an unknown CP");
  assert.equal(p.state.restoring, null);
  p.type(`restore CP-1${ENTER}`);
  assert.equal(p.state.restoring, "CP-1");
  assert.deepEqual(p.actions, [], "nothing happens before the reason");
  p.type(TAB);
  assert.equal(p.state.audit.open, false);
  p.type(`   ${ENTER}`);
  assert.equal(p.state.feedback, "a restore needs a reason (Esc cancels)");
  assert.equal(p.state.restoring, "CP-1", "still asking");
  p.type(` meter replaced ${ENTER}`);
  assert.deepEqual(p.actions, [{ type: "restore", cpId: "CP-1", reason: "meter replaced" }]);
  assert.equal(p.state.restoring, null);
  assert.equal(p.state.feedback, "restoring CP-1…");
});

Deno.test("panel keys: Esc cancels a restore in the panel's language; the next Enter hides credentials shown once", () => {
  using p = panel("es");
  p.type(`restore CP-1${ENTER}`);
  p.type("por");
  p.esc();
  assert.deepEqual([p.state.restoring, p.state.line], [null, ""]);
  assert.equal(p.state.feedback, "restauración de CP-1 cancelada");
  assert.deepEqual(p.actions, []);

  const shown = handleKey({ ...START_STATE, shownOnce: "secret" }, 0x0d, {
    lang: "es",
    knows: () => true,
  });
  assert.equal(shown.state.shownOnce, null);
});
