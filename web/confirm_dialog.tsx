/**
 * The in-page confirmation of destructive admin actions (stop all, stop a CP, rotate or revoke
 * keys, take out of service, deregister, stop a local CP's process): a modal `<dialog>` that
 * says what will happen and asks for a reason, which Central keeps in the action's audit record.
 * The keyboard stays inside it (Tab and Shift+Tab wrap), Escape or Cancel answers no, and focus
 * goes back where it was. One dialog for the whole page ({@link ConfirmDialog}, mounted once);
 * {@link confirmAction} opens it.
 *
 * @module
 */
import { signal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import { ct } from "./show.ts";

/** What a confirmation says. */
export interface ConfirmRequest {
  /** The question, e.g. "Stop every CP?". */
  readonly title: string;
  /** What will happen. */
  readonly detail: string;
  /** The confirming button's label, e.g. "Stop all". */
  readonly action: string;
  /** Whether a reason must be given (otherwise it may be left empty). */
  readonly reasonRequired?: boolean;
}

interface Pending extends ConfirmRequest {
  /** Which question: a new one starts with an empty reason. */
  readonly seq: number;
  readonly resolve: (reason: string | null) => void;
}

/** Longest reason Central accepts. */
export const MAX_REASON_CHARS = 500;

const pending = signal<Pending | null>(null);
let asked = 0;

/**
 * Asks for confirmation in the page's dialog: the reason typed (trimmed, "" when none was) once
 * confirmed, null when cancelled. A new question cancels one still open.
 */
export function confirmAction(request: ConfirmRequest): Promise<string | null> {
  pending.value?.resolve(null);
  return new Promise((resolve) => pending.value = { ...request, seq: ++asked, resolve });
}

/** A reason as Central takes it: one line, no control characters, at most 500 characters. */
export function cleanReason(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]+/g, " ").trim().slice(0, MAX_REASON_CHARS);
}

/** The JSON body of an admin call carrying `reason`: `{reason}`, or `{}` for none. */
export function reasonBody(reason: string): { reason?: string } {
  const clean = cleanReason(reason);
  return clean === "" ? {} : { reason: clean };
}

const FOCUSABLE = "button:not([disabled]), input:not([disabled]), textarea:not([disabled])";

/** The page's one confirmation dialog. */
export function ConfirmDialog() {
  const dialog = useRef<HTMLDialogElement>(null);
  const reason = useRef<HTMLTextAreaElement>(null);
  const returnTo = useRef<Element | null>(null);
  /** The question the dialog was last opened for. */
  const shown = useRef(0);
  const ask = pending.value;

  useEffect(() => {
    const el = dialog.current;
    if (el === null) return;
    if (ask !== null && !el.open) {
      returnTo.current = document.activeElement;
      shown.current = ask.seq;
      el.showModal();
      reason.current?.focus();
    } else if (ask === null && el.open) {
      el.close();
    }
  }, [ask]);

  const finish = (answer: string | null) => {
    const current = pending.value;
    if (current === null) return;
    pending.value = null;
    dialog.current?.close();
    const back = returnTo.current as HTMLElement | null;
    if (back?.isConnected) back.focus();
    current.resolve(answer);
  };

  // Tab and Shift+Tab wrap around the dialog's controls instead of leaving it.
  const trapTab = (e: KeyboardEvent) => {
    if (e.key !== "Tab" || dialog.current === null) return;
    const items = [...dialog.current.querySelectorAll<HTMLElement>(FOCUSABLE)];
    if (items.length === 0) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  };

  return (
    <dialog
      ref={dialog}
      class="confirm"
      aria-labelledby="confirm-title"
      aria-describedby="confirm-detail"
      data-testid="confirm-dialog"
      onKeyDown={trapTab}
      onCancel={(e) => {
        // Escape: answer no (and close it here, so the answer is given once).
        e.preventDefault();
        finish(null);
      }}
      onClose={() => {
        // Closed by the browser (not by finish): answer no. The event comes a task after the
        // close, so on a busy page it may come once the next question has opened the dialog
        // again (seen in CI): it is no answer to that one.
        if (dialog.current?.open || pending.value?.seq !== shown.current) return;
        finish(null);
      }}
    >
      {ask !== null && (
        <form
          key={ask.seq}
          method="dialog"
          onSubmit={(e) => {
            e.preventDefault();
            const text = cleanReason(reason.current?.value ?? "");
            if (ask.reasonRequired && text === "") {
              reason.current?.focus();
              return;
            }
            finish(text);
          }}
        >
          <h2 id="confirm-title">{ask.title}</h2>
          <p id="confirm-detail">{ask.detail}</p>
          <label for="confirm-reason">
            {ct(ask.reasonRequired ? "reasonRequired" : "reasonOptional")}
          </label>
          <textarea
            id="confirm-reason"
            ref={reason}
            rows={2}
            maxLength={MAX_REASON_CHARS}
            required={ask.reasonRequired === true}
            data-testid="confirm-reason"
          />
          <div class="confirm-buttons">
            <button type="button" class="ghost" onClick={() => finish(null)}>
              {ct("cancel")}
            </button>
            <button type="submit" class="danger" data-testid="confirm-ok">{ask.action}</button>
          </div>
        </form>
      )}
    </dialog>
  );
}
