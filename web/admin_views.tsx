/**
 * Admin controls: the token prompt, stop/resume all, each CP's actions (stop, resume, rotate and
 * revoke keys, security status, restore of a REVOKED CP) and the CP manager (register and deregister in the Registry
 * through Central; start and stop the simulated CPs a local supervisor runs, and start new ones).
 * Each is a call that Central checks against the admin token; each destructive one is confirmed
 * first in the page's dialog (web/confirm_dialog.tsx), whose reason goes with the call.
 *
 * @module
 */
import { type Signal, signal, useSignal, useSignalEffect } from "@preact/signals";
import type { NoticeLike, NoticeParams } from "../shared/notices.ts";
import { adminGet, adminPost, adminToken, notice, setAdminToken } from "./admin.ts";
import { confirmAction, reasonBody } from "./confirm_dialog.tsx";
import type { CpView } from "./state.ts";
import type { ConsoleKey } from "./console_text.ts";
import { fmt } from "./lang.ts";
import { answerDetail, ct, ctOr, kw, said } from "./show.ts";

/** The admin token prompt, or the admin bar once in admin mode. */
export function AdminBar() {
  const draft = useSignal("");
  if (adminToken.value === null) {
    return (
      <form
        class="admin-login"
        onSubmit={(e) => {
          e.preventDefault();
          setAdminToken(draft.value);
          draft.value = "";
        }}
      >
        <input
          type="password"
          autocomplete="off"
          placeholder={ct("adminToken")}
          aria-label={ct("adminToken")}
          value={draft.value}
          onInput={(e) => draft.value = (e.target as HTMLInputElement).value}
        />
        <button type="submit">{ct("adminMode")}</button>
      </form>
    );
  }
  return (
    <div class="admin-bar" data-testid="admin-bar">
      <span class="badge">{ct("adminBadge")}</span>
      <button
        type="button"
        class="danger"
        data-action="stop-all"
        onClick={async () => {
          const reason = await confirmAction({
            title: ct("stopAllTitle"),
            detail: ct("stopAllDetail"),
            action: ct("stopAll"),
          });
          if (reason !== null) adminPost("/cps/stop", ct("stopAll"), reasonBody(reason));
        }}
      >
        {ct("stopAll")}
      </button>
      <button type="button" onClick={() => adminPost("/cps/resume", ct("resumeAll"))}>
        {ct("resumeAll")}
      </button>
      <button type="button" class="ghost" onClick={() => setAdminToken(null)}>
        {ct("leave")}
      </button>
    </div>
  );
}

/** What the confirmation dialog asks before a destructive action. */
interface Ask {
  readonly title: string;
  readonly detail: string;
  readonly action: string;
  readonly reasonRequired?: boolean;
}

/** Confirms, then calls `path` with the reason (and `body`). */
async function confirmed(
  ask: Ask,
  path: string,
  what: string,
  body: Record<string, unknown> = {},
): Promise<void> {
  const reason = await confirmAction(ask);
  if (reason !== null) adminPost(path, what, { ...body, ...reasonBody(reason) });
}

/** New credentials a restore answered with, for a CP run elsewhere: shown this once. */
const restored = signal<
  { cp_id: string; credentials: string; delivery: NoticeLike } | null
>(null);

/** Asks, then restores a REVOKED CP; credentials the CP could not be given are shown once. */
async function restoreCp(cp: CpView): Promise<void> {
  const reason = await confirmAction({
    title: ct("restoreTitle", { cp: cp.id }),
    detail: ct("restoreDetail", { cp: cp.id }),
    action: ct("restore"),
  });
  if (reason === null) return;
  const answer = await adminPost(
    `/cps/${encodeURIComponent(cp.id)}/restore`,
    ct("restoreCp", { cp: cp.id }),
    reasonBody(reason),
  );
  const body = answer.body;
  if (answer.ok && body?.delivered === false && typeof body.credentials === "string") {
    restored.value = {
      cp_id: cp.id,
      credentials: body.credentials,
      delivery: {
        detail: String(body.delivery ?? ""),
        detail_code: typeof body.delivery_code === "string" ? body.delivery_code : undefined,
        detail_params: typeof body.delivery_params === "object" && body.delivery_params !== null
          ? body.delivery_params as NoticeParams
          : undefined,
      },
    };
  }
}

/** The credentials of a restored CP run elsewhere, until hidden. */
function RestoredCredentials(props: { id: string }) {
  const shown = restored.value;
  if (shown === null || shown.cp_id !== props.id) return null;
  return (
    <div class="credentials" data-testid="restored-credentials">
      <p>
        {ct("newCredentialsOf")} <strong>{shown.cp_id}</strong>
        {ct("shownOnce", { delivery: said(shown.delivery) })}
      </p>
      <code class="secret">{shown.credentials}</code>
      <button type="button" class="ghost" onClick={() => restored.value = null}>
        {ct("hide")}
      </button>
    </div>
  );
}

/** The admin actions of one CP tile: stop or resume, and the rest behind "more". */
export function CpActions(props: { cp: CpView }) {
  const { cp } = props;
  const id = encodeURIComponent(cp.id);
  return (
    <div class="actions">
      {cp.state === "STOPPED"
        ? (
          <button
            type="button"
            aria-label={ct("resumeCp", { cp: cp.id })}
            onClick={() => adminPost(`/cps/${id}/resume`, ct("resumeCp", { cp: cp.id }))}
          >
            {ct("resume")}
          </button>
        )
        : (
          <button
            type="button"
            class="danger"
            data-action="stop"
            aria-label={ct("stopCp", { cp: cp.id })}
            onClick={() =>
              confirmed(
                {
                  title: ct("stopCpTitle", { cp: cp.id }),
                  detail: cp.state === "SUPPLYING"
                    ? ct("stopCpDetailSession", { cp: cp.id, driver: cp.driver_id ?? "" })
                    : ct("stopCpDetail", { cp: cp.id }),
                  action: ct("stop"),
                },
                `/cps/${id}/stop`,
                ct("stopCp", { cp: cp.id }),
              )}
          >
            {ct("stop")}
          </button>
        )}
      <MoreActions cp={cp} />
      <RestoredCredentials id={cp.id} />
    </div>
  );
}

/** The confirmation asked before `name`'s action on `cp`: its `…Title` and `…Detail` texts, `action` its button. */
function askFor(
  cp: CpView,
  name: "rotate" | "revoke" | SecurityAsk,
  action: ConsoleKey,
  reasonRequired?: boolean,
): Ask {
  return {
    title: ct(`${name}Title`, { cp: cp.id }),
    detail: ct(`${name}Detail`, { cp: cp.id }),
    action: ct(action),
    reasonRequired,
  };
}

/** The key actions of a CP (each POSTs `/cps/{id}/keys/{name}`) and the text of their buttons. */
const KEY_ACTIONS = [
  { name: "rotate", label: "rotateKey" },
  { name: "revoke", label: "revokeKeys" },
] as const;

/** The texts (`…Title`, `…Detail` and the button) of setting a CP's security status. */
const SECURITY_ASK = {
  OUT_OF_SERVICE: "outOfService",
  ACTIVE: "backInService",
  REVOKED: "revokeForGood",
} as const;
type SecurityAsk = typeof SECURITY_ASK[keyof typeof SECURITY_ASK];

/** Asks for a reason, then sets `cp`'s security status to `status`. */
function SecurityButton(
  props: { cp: CpView; status: keyof typeof SECURITY_ASK; danger?: boolean },
) {
  const { cp, status } = props;
  const name = SECURITY_ASK[status];
  return (
    <button
      type="button"
      class={props.danger ? "danger" : undefined}
      onClick={() =>
        confirmed(
          askFor(cp, name, name, true),
          `/cps/${encodeURIComponent(cp.id)}/security`,
          ct("securityWhat", { status: ct(`sec_${status}`), cp: cp.id }),
          { status },
        )}
    >
      {ct(name)}
    </button>
  );
}

/** A CP's key and security actions, folded behind "more". */
function MoreActions(props: { cp: CpView }) {
  const { cp } = props;
  return (
    <details class="more">
      <summary aria-label={ct("moreActionsFor", { cp: cp.id })}>{ct("moreActions")}</summary>
      {KEY_ACTIONS.map(({ name, label }) => (
        <button
          key={name}
          type="button"
          data-action={name}
          onClick={() =>
            confirmed(
              askFor(cp, name, label),
              `/cps/${encodeURIComponent(cp.id)}/keys/${name}`,
              ct(`${name}What`, { cp: cp.id }),
            )}
        >
          {ct(label)}
        </button>
      ))}
      {cp.security === "ACTIVE"
        ? <SecurityButton cp={cp} status="OUT_OF_SERVICE" />
        : cp.security === "OUT_OF_SERVICE" && <SecurityButton cp={cp} status="ACTIVE" />}
      {cp.security !== "REVOKED"
        ? <SecurityButton cp={cp} status="REVOKED" danger />
        : (
          <button type="button" data-action="restore" onClick={() => restoreCp(cp)}>
            {ct("restore")}
          </button>
        )}
    </details>
  );
}

/** A required text field of a CP form, kept in `form`'s `name`; `numeric` asks for a decimal keyboard. */
function FormField<F extends Record<string, string>>(props: {
  form: Signal<F>;
  name: keyof F;
  label: string;
  numeric?: boolean;
  /** The input's `name` attribute, if it has one. */
  inputName?: string;
}) {
  const { form, name } = props;
  return (
    <label>
      {props.label}
      <input
        type="text"
        inputMode={props.numeric ? "decimal" : "text"}
        required
        name={props.inputName}
        value={form.value[name]}
        onInput={(e) =>
          form.value = { ...form.value, [name]: (e.target as HTMLInputElement).value }}
      />
    </label>
  );
}

interface RegistryCp {
  readonly cp_id: string;
  readonly location: string;
  readonly status: string;
}

/** Register and deregister CPs in the Registry (needs Central's Registry admin key). */
export function CpManager(props: { enabled: boolean }) {
  const cps = useSignal<RegistryCp[] | null>(null);
  const form = useSignal({ cp_id: "", location: "", price: "0.40", power: "22" });
  const issued = useSignal<{ cp_id: string; credentials: string } | null>(null);
  if (adminToken.value === null) return null;
  if (!props.enabled) {
    return <p class="empty">{ct("managerOff")}</p>;
  }
  const load = async () => {
    const res = await fetch("/registry/cps").catch(() => undefined);
    cps.value = res?.ok ? await res.json() as RegistryCp[] : [];
  };
  const register = async (e: Event) => {
    e.preventDefault();
    const f = form.value;
    const answer = await adminPost("/registry/cps", ct("registerWhat", { cp: f.cp_id }), {
      cp_id: f.cp_id.trim(),
      location: f.location.trim(),
      price_eur_kwh: Number(f.price),
      power_kw: Number(f.power),
    });
    if (answer.ok && typeof answer.body?.credentials === "string") {
      issued.value = { cp_id: f.cp_id.trim(), credentials: answer.body.credentials };
    }
    load();
  };
  return (
    <div class="manager">
      <form class="register" onSubmit={register}>
        <FormField form={form} name="cp_id" label={ct("fieldCpId")} />
        <FormField form={form} name="location" label={ct("fieldCity")} />
        <FormField form={form} name="price" label="€/kWh" numeric />
        <FormField form={form} name="power" label="kW" numeric />
        <button type="submit">{ct("register")}</button>
      </form>
      {issued.value && (
        <div class="credentials">
          <p>
            {ct("credentialsOf")} <strong>{issued.value.cp_id}</strong>
            {ct("credentialsOnce")}
          </p>
          <code class="secret">{issued.value.credentials}</code>
          <button type="button" class="ghost" onClick={() => issued.value = null}>
            {ct("hide")}
          </button>
        </div>
      )}
      {cps.value === null
        ? (
          <button type="button" class="ghost" onClick={load}>
            {ct("showRegistryCps")}
          </button>
        )
        : (
          <ul class="list">
            {cps.value.map((cp) => (
              <li key={cp.cp_id}>
                <strong>{cp.cp_id}</strong>
                <span>{cp.location}</span>
                <span class="muted">{ctOr(`reg_${cp.status}`, cp.status)}</span>
                {cp.status === "REGISTERED" && (
                  <button
                    type="button"
                    class="danger small"
                    onClick={async () => {
                      const reason = await confirmAction({
                        title: ct("deregisterTitle", { cp: cp.cp_id }),
                        detail: ct("deregisterDetail", { cp: cp.cp_id }),
                        action: ct("deregister"),
                      });
                      if (reason === null) return;
                      await adminPost(
                        `/registry/cps/${encodeURIComponent(cp.cp_id)}/deregister`,
                        ct("deregisterWhat", { cp: cp.cp_id }),
                        reasonBody(reason),
                      );
                      load();
                    }}
                  >
                    {ct("deregister")}
                  </button>
                )}
              </li>
            ))}
          </ul>
        )}
    </div>
  );
}

interface LocalCp {
  readonly id: string;
  readonly location: string;
  readonly price_eur_kwh: number;
  readonly power_kw: number;
  readonly running: boolean;
  readonly pid: number | null;
  readonly engine_running?: boolean;
  readonly monitor_running?: boolean;
  readonly faulty?: boolean;
}

/** A local CP's price and rated power, written the page's way. */
const localFigures = (cp: LocalCp) => `${fmt().pricePerKwh(cp.price_eur_kwh)} · ${kw(cp.power_kw)}`;

/**
 * The demo actions on a running local CP's engine and monitor (the supervisor API's
 * `fault|repair|kill-engine|kill-monitor|restart-engine|restart-monitor`), each offered only
 * when it applies.
 */
const DEMO_ACTIONS: readonly {
  readonly action: string;
  readonly offered: (cp: LocalCp) => boolean;
}[] = [
  { action: "fault", offered: (cp) => !!cp.engine_running && !cp.faulty },
  { action: "repair", offered: (cp) => !!cp.faulty },
  { action: "kill-engine", offered: (cp) => !!cp.engine_running },
  { action: "restart-engine", offered: (cp) => !cp.engine_running },
  { action: "kill-monitor", offered: (cp) => !!cp.monitor_running },
  { action: "restart-monitor", offered: (cp) => !cp.monitor_running },
];

/** A running local CP's processes and the demo actions that apply to it now. */
function DemoButtons(
  props: { cp: LocalCp; busy: boolean; act: (path: string, what: string) => unknown },
) {
  const { cp, busy, act } = props;
  const id = encodeURIComponent(cp.id);
  return (
    <>
      <span data-processes>{processesNote(cp)}</span>
      {DEMO_ACTIONS.filter((d) => d.offered(cp)).map((d) => {
        const label = ctOr(`demo_${d.action}`, d.action);
        return (
          <button
            type="button"
            class="small"
            key={d.action}
            data-action={`local-${d.action}`}
            disabled={busy}
            onClick={() =>
              act(`/local/cps/${id}/${d.action}`, ct("demoWhat", { action: label, cp: cp.id }))}
          >
            {label}
          </button>
        );
      })}
    </>
  );
}

/** `engine DOWN · fault ON`: what is unusual about a running local CP's processes. */
function processesNote(cp: LocalCp): string {
  const notes = [
    ...(cp.engine_running ? [] : [ct("engineDown")]),
    ...(cp.monitor_running ? [] : [ct("monitorDown")]),
    ...(cp.faulty ? [ct("faultOn")] : []),
  ];
  return notes.length === 0 ? ct("processesUp") : notes.join(" · ");
}

/**
 * The simulated CPs the local supervisor (`deno task start`) runs: start and stop each, start a
 * new one. Only when Central has a supervisor: it cannot start processes itself.
 */
export function LocalCps(props: { enabled: boolean }) {
  if (!props.enabled) {
    return <p class="empty">{ct("localOff")}</p>;
  }
  return <LocalCpList />;
}

function LocalCpList() {
  const cps = useSignal<LocalCp[] | null>(null);
  const failure = useSignal<string | null>(null);
  const busy = useSignal(false);
  const form = useSignal({ id: "", location: "", price: "0.40", power: "22" });
  // The processes' state is not in the event stream: read it on entry and after each action.
  const load = async () => {
    const answer = await adminGet("/local/cps");
    cps.value = answer.ok && Array.isArray(answer.body) ? answer.body as LocalCp[] : [];
    const detail = answerDetail(answer.body) ?? ct("noAnswer");
    failure.value = answer.ok ? null : ct("localUnread", { status: answer.status, detail });
  };
  useSignalEffect(() => {
    if (adminToken.value !== null) load();
  });
  const act = async (path: string, what: string, body?: unknown) => {
    busy.value = true;
    try {
      return await adminPost(path, what, body);
    } finally {
      busy.value = false;
      load();
    }
  };
  const add = async (e: Event) => {
    e.preventDefault();
    const f = form.value;
    const answer = await act("/local/cps", ct("startNewCpWhat", { cp: f.id.trim() }), {
      id: f.id.trim(),
      location: f.location.trim(),
      price_eur_kwh: Number(f.price),
      power_kw: Number(f.power),
    });
    if (answer.ok) form.value = { ...f, id: "" };
  };
  return (
    <div class="manager" data-testid="local-cps">
      <h3>{ct("localCps")}</h3>
      <form class="register" onSubmit={add}>
        <FormField form={form} name="id" label={ct("fieldCpId")} inputName="local-id" />
        <FormField form={form} name="location" label={ct("fieldCity")} inputName="local-location" />
        <FormField form={form} name="price" label="€/kWh" numeric inputName="local-price" />
        <FormField form={form} name="power" label="kW" numeric inputName="local-power" />
        <button type="submit" disabled={busy.value}>{ct("startNewCp")}</button>
      </form>
      {failure.value && <p class="empty">{failure.value}</p>}
      {cps.value === null ? <p class="loading">{ct("loadingLocal")}</p> : (
        <ul class="list">
          {cps.value.map((cp) => {
            const id = encodeURIComponent(cp.id);
            return (
              <li key={cp.id} data-local-cp={cp.id} data-running={String(cp.running)}>
                <strong>{cp.id}</strong>
                <span>{cp.location}</span>
                <span class="muted">{localFigures(cp)}</span>
                <span class="muted">
                  {cp.running ? ct("runningPid", { pid: cp.pid ?? "–" }) : ct("processStopped")}
                </span>
                {cp.running && <DemoButtons cp={cp} busy={busy.value} act={act} />}
                {cp.running
                  ? (
                    <button
                      type="button"
                      class="danger small"
                      data-action="local-stop"
                      disabled={busy.value}
                      onClick={async () => {
                        const reason = await confirmAction({
                          title: ct("stopProcessTitle", { cp: cp.id }),
                          detail: ct("stopProcessDetail", { cp: cp.id }),
                          action: ct("stopProcess"),
                        });
                        if (reason !== null) {
                          act(
                            `/local/cps/${id}/stop`,
                            ct("stopProcessWhat", { cp: cp.id }),
                            reasonBody(reason),
                          );
                        }
                      }}
                    >
                      {ct("stopProcess")}
                    </button>
                  )
                  : (
                    <button
                      type="button"
                      class="small"
                      data-action="local-start"
                      disabled={busy.value}
                      onClick={() =>
                        act(`/local/cps/${id}/start`, ct("startProcessWhat", { cp: cp.id }))}
                    >
                      {ct("startProcess")}
                    </button>
                  )}
              </li>
            );
          })}
        </ul>
      )}
      <button type="button" class="ghost" onClick={load}>{ct("refresh")}</button>
    </div>
  );
}

/** The outcome of the last admin call. */
export function Notice() {
  const n = notice.value;
  if (n === null) return null;
  return (
    <div class={n.ok ? "notice ok" : "notice bad"} role="status">
      {n.text}
      <button
        type="button"
        class="ghost small"
        aria-label={ct("dismiss")}
        onClick={() => notice.value = null}
      >
        ×
      </button>
    </div>
  );
}
