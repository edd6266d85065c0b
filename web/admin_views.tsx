/**
 * Admin controls: the token prompt, stop/resume all, each CP's actions (stop, resume, rotate and
 * revoke keys, security status, restore of a REVOKED CP) and the CP manager (register and deregister in the Registry
 * through Central; start and stop the simulated CPs a local supervisor runs, and start new ones).
 * Each is a call that Central checks against the admin token; each destructive one is confirmed
 * first in the page's dialog (web/confirm_dialog.tsx), whose reason goes with the call.
 *
 * @module
 */
import { signal, useSignal, useSignalEffect } from "@preact/signals";
import { adminGet, adminPost, adminToken, notice, setAdminToken } from "./admin.ts";
import { confirmAction, reasonBody } from "./confirm_dialog.tsx";
import type { CpView } from "./state.ts";

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
          placeholder="admin token"
          aria-label="admin token"
          value={draft.value}
          onInput={(e) => draft.value = (e.target as HTMLInputElement).value}
        />
        <button type="submit">Admin mode</button>
      </form>
    );
  }
  return (
    <div class="admin-bar" data-testid="admin-bar">
      <span class="badge">admin</span>
      <button
        type="button"
        class="danger"
        data-action="stop-all"
        onClick={async () => {
          const reason = await confirmAction({
            title: "Stop every CP?",
            detail: "Every charging point goes Out of Order and every open session ends with a " +
              "ticket. Resume all brings them back.",
            action: "Stop all",
          });
          if (reason !== null) adminPost("/cps/stop", "Stop all", reasonBody(reason));
        }}
      >
        Stop all
      </button>
      <button type="button" onClick={() => adminPost("/cps/resume", "Resume all")}>
        Resume all
      </button>
      <button type="button" class="ghost" onClick={() => setAdminToken(null)}>Leave</button>
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
const restored = signal<{ cp_id: string; credentials: string; delivery: string } | null>(null);

/** Asks, then restores a REVOKED CP; credentials the CP could not be given are shown once. */
async function restoreCp(cp: CpView): Promise<void> {
  const reason = await confirmAction({
    title: `Restore ${cp.id}?`,
    detail: `The Registry issues ${cp.id} new credentials (the old ones stop working) and its ` +
      "security is ACTIVE again. A CP run here gets them by itself and logs in; for any other " +
      "they are shown here once, to copy into its credentials file.",
    action: "Restore",
  });
  if (reason === null) return;
  const answer = await adminPost(
    `/cps/${encodeURIComponent(cp.id)}/restore`,
    `Restore ${cp.id}`,
    reasonBody(reason),
  );
  const body = answer.body;
  if (answer.ok && body?.delivered === false && typeof body.credentials === "string") {
    restored.value = {
      cp_id: cp.id,
      credentials: body.credentials,
      delivery: String(body.delivery ?? ""),
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
        New credentials of <strong>{shown.cp_id}</strong>, shown this once: {shown.delivery}.
      </p>
      <code class="secret">{shown.credentials}</code>
      <button type="button" class="ghost" onClick={() => restored.value = null}>Hide</button>
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
            aria-label={`Resume ${cp.id}`}
            onClick={() => adminPost(`/cps/${id}/resume`, `Resume ${cp.id}`)}
          >
            Resume
          </button>
        )
        : (
          <button
            type="button"
            class="danger"
            data-action="stop"
            aria-label={`Stop ${cp.id}`}
            onClick={() =>
              confirmed(
                {
                  title: `Stop ${cp.id}?`,
                  detail: `${cp.id} goes Out of Order` +
                    (cp.state === "SUPPLYING"
                      ? ` and ${cp.driver_id}'s session ends with a ticket.`
                      : ".") +
                    " Resume brings it back.",
                  action: "Stop",
                },
                `/cps/${id}/stop`,
                `Stop ${cp.id}`,
              )}
          >
            Stop
          </button>
        )}
      <MoreActions cp={cp} />
      <RestoredCredentials id={cp.id} />
    </div>
  );
}

/** A CP's key and security actions, folded behind "more". */
function MoreActions(props: { cp: CpView }) {
  const { cp } = props;
  const id = encodeURIComponent(cp.id);
  const security = (
    status: "OUT_OF_SERVICE" | "ACTIVE" | "REVOKED",
    title: string,
    detail: string,
    action: string,
  ) =>
    confirmed(
      { title, detail, action, reasonRequired: true },
      `/cps/${id}/security`,
      `${status} ${cp.id}`,
      { status },
    );
  return (
    <details class="more">
      <summary aria-label={`More actions for ${cp.id}`}>more</summary>
      <button
        type="button"
        data-action="rotate"
        onClick={() =>
          confirmed(
            {
              title: `Rotate the key of ${cp.id}?`,
              detail: `${cp.id}'s current key stops working; it gets a new one at once.`,
              action: "Rotate key",
            },
            `/cps/${id}/keys/rotate`,
            `Rotate key of ${cp.id}`,
          )}
      >
        Rotate key
      </button>
      <button
        type="button"
        data-action="revoke"
        onClick={() =>
          confirmed(
            {
              title: `Revoke the keys of ${cp.id}?`,
              detail: `${cp.id}'s keys stop working and it is logged out until it logs in again.`,
              action: "Revoke keys",
            },
            `/cps/${id}/keys/revoke`,
            `Revoke keys of ${cp.id}`,
          )}
      >
        Revoke keys
      </button>
      {cp.security === "ACTIVE"
        ? (
          <button
            type="button"
            onClick={() =>
              security(
                "OUT_OF_SERVICE",
                `Take ${cp.id} out of service?`,
                `${cp.id} may log in but not charge until it is back in service.`,
                "Out of service",
              )}
          >
            Out of service
          </button>
        )
        : cp.security === "OUT_OF_SERVICE" && (
          <button
            type="button"
            onClick={() =>
              security(
                "ACTIVE",
                `Put ${cp.id} back in service?`,
                `${cp.id} may charge again.`,
                "Back in service",
              )}
          >
            Back in service
          </button>
        )}
      {cp.security !== "REVOKED"
        ? (
          <button
            type="button"
            class="danger"
            onClick={() =>
              security(
                "REVOKED",
                `Revoke ${cp.id} for good?`,
                `${cp.id} is logged out and refused at every login until an admin restores ` +
                  "it with new credentials.",
                "Revoke for good",
              )}
          >
            Revoke for good
          </button>
        )
        : (
          <button type="button" data-action="restore" onClick={() => restoreCp(cp)}>
            Restore
          </button>
        )}
    </details>
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
    return (
      <p class="empty">
        CP manager off: Central was started without a Registry admin key (REGISTRY_ADMIN_KEY).
      </p>
    );
  }
  const load = async () => {
    const res = await fetch("/registry/cps").catch(() => undefined);
    cps.value = res?.ok ? await res.json() as RegistryCp[] : [];
  };
  const register = async (e: Event) => {
    e.preventDefault();
    const f = form.value;
    const answer = await adminPost("/registry/cps", `Register ${f.cp_id}`, {
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
  const field = (name: keyof typeof form.value, label: string, numeric = false) => (
    <label>
      {label}
      <input
        type="text"
        inputMode={numeric ? "decimal" : "text"}
        required
        value={form.value[name]}
        onInput={(e) =>
          form.value = { ...form.value, [name]: (e.target as HTMLInputElement).value }}
      />
    </label>
  );
  return (
    <div class="manager">
      <form class="register" onSubmit={register}>
        {field("cp_id", "CP id")}
        {field("location", "city")}
        {field("price", "€/kWh", true)}
        {field("power", "kW", true)}
        <button type="submit">Register</button>
      </form>
      {issued.value && (
        <div class="credentials">
          <p>
            Credentials of{" "}
            <strong>{issued.value.cp_id}</strong>, shown this once: keep them on the CP (they are
            never shown again).
          </p>
          <code class="secret">{issued.value.credentials}</code>
          <button type="button" class="ghost" onClick={() => issued.value = null}>Hide</button>
        </div>
      )}
      {cps.value === null
        ? <button type="button" class="ghost" onClick={load}>Show the Registry's CPs</button>
        : (
          <ul class="list">
            {cps.value.map((cp) => (
              <li key={cp.cp_id}>
                <strong>{cp.cp_id}</strong>
                <span>{cp.location}</span>
                <span class="muted">{cp.status}</span>
                {cp.status === "REGISTERED" && (
                  <button
                    type="button"
                    class="danger small"
                    onClick={async () => {
                      const reason = await confirmAction({
                        title: `Deregister ${cp.cp_id}?`,
                        detail: `${cp.cp_id} is logged out and can no longer log in.`,
                        action: "Deregister",
                      });
                      if (reason === null) return;
                      await adminPost(
                        `/registry/cps/${encodeURIComponent(cp.cp_id)}/deregister`,
                        `Deregister ${cp.cp_id}`,
                        reasonBody(reason),
                      );
                      load();
                    }}
                  >
                    Deregister
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

/**
 * The demo actions on a running local CP's engine and monitor (the supervisor API's
 * `fault|repair|kill-engine|kill-monitor|restart-engine|restart-monitor`), each offered only
 * when it applies.
 */
const DEMO_ACTIONS: readonly {
  readonly action: string;
  readonly label: string;
  readonly offered: (cp: LocalCp) => boolean;
}[] = [
  { action: "fault", label: "Simulate fault", offered: (cp) => !!cp.engine_running && !cp.faulty },
  { action: "repair", label: "Repair", offered: (cp) => !!cp.faulty },
  { action: "kill-engine", label: "Kill engine", offered: (cp) => !!cp.engine_running },
  { action: "restart-engine", label: "Restart engine", offered: (cp) => !cp.engine_running },
  { action: "kill-monitor", label: "Kill monitor", offered: (cp) => !!cp.monitor_running },
  { action: "restart-monitor", label: "Restart monitor", offered: (cp) => !cp.monitor_running },
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
      {DEMO_ACTIONS.filter((d) => d.offered(cp)).map((d) => (
        <button
          type="button"
          class="small"
          key={d.action}
          data-action={`local-${d.action}`}
          disabled={busy}
          onClick={() => act(`/local/cps/${id}/${d.action}`, `${d.label} on ${cp.id}`)}
        >
          {d.label}
        </button>
      ))}
    </>
  );
}

/** `engine DOWN · fault ON`: what is unusual about a running local CP's processes. */
function processesNote(cp: LocalCp): string {
  const notes = [
    ...(cp.engine_running ? [] : ["engine DOWN"]),
    ...(cp.monitor_running ? [] : ["monitor DOWN"]),
    ...(cp.faulty ? ["fault ON"] : []),
  ];
  return notes.length === 0 ? "engine and monitor up" : notes.join(" · ");
}

/**
 * The simulated CPs the local supervisor (`deno task start`) runs: start and stop each, start a
 * new one. Only when Central has a supervisor: it cannot start processes itself.
 */
export function LocalCps(props: { enabled: boolean }) {
  if (!props.enabled) {
    return (
      <p class="empty">
        Local CPs: not offered, Central was not started by deno task start (no supervisor).
      </p>
    );
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
    const detail = typeof answer.body?.detail === "string" ? answer.body.detail : "no answer";
    failure.value = answer.ok
      ? null
      : `The local CPs could not be read (${answer.status}): ${detail}`;
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
    const answer = await act("/local/cps", `Start new CP ${f.id.trim()}`, {
      id: f.id.trim(),
      location: f.location.trim(),
      price_eur_kwh: Number(f.price),
      power_kw: Number(f.power),
    });
    if (answer.ok) form.value = { ...f, id: "" };
  };
  const field = (name: keyof typeof form.value, label: string, numeric = false) => (
    <label>
      {label}
      <input
        type="text"
        inputMode={numeric ? "decimal" : "text"}
        required
        name={`local-${name}`}
        value={form.value[name]}
        onInput={(e) =>
          form.value = { ...form.value, [name]: (e.target as HTMLInputElement).value }}
      />
    </label>
  );
  return (
    <div class="manager" data-testid="local-cps">
      <h3>Local simulated CPs</h3>
      <form class="register" onSubmit={add}>
        {field("id", "CP id")}
        {field("location", "city")}
        {field("price", "€/kWh", true)}
        {field("power", "kW", true)}
        <button type="submit" disabled={busy.value}>Start new CP</button>
      </form>
      {failure.value && <p class="empty">{failure.value}</p>}
      {cps.value === null ? <p class="loading">Loading the local CPs…</p> : (
        <ul class="list">
          {cps.value.map((cp) => {
            const id = encodeURIComponent(cp.id);
            return (
              <li key={cp.id} data-local-cp={cp.id} data-running={String(cp.running)}>
                <strong>{cp.id}</strong>
                <span>{cp.location}</span>
                <span class="muted">{cp.price_eur_kwh} €/kWh · {cp.power_kw} kW</span>
                <span class="muted">{cp.running ? `running (pid ${cp.pid})` : "stopped"}</span>
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
                          title: `Stop the process of ${cp.id}?`,
                          detail: `The simulated CP ${cp.id} stops running; Central sees it ` +
                            "disconnect. Start process runs it again.",
                          action: "Stop process",
                        });
                        if (reason !== null) {
                          act(
                            `/local/cps/${id}/stop`,
                            `Stop process of ${cp.id}`,
                            reasonBody(reason),
                          );
                        }
                      }}
                    >
                      Stop process
                    </button>
                  )
                  : (
                    <button
                      type="button"
                      class="small"
                      data-action="local-start"
                      disabled={busy.value}
                      onClick={() => act(`/local/cps/${id}/start`, `Start process of ${cp.id}`)}
                    >
                      Start process
                    </button>
                  )}
              </li>
            );
          })}
        </ul>
      )}
      <button type="button" class="ghost" onClick={load}>Refresh</button>
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
        aria-label="Dismiss this message"
        onClick={() => notice.value = null}
      >
        ×
      </button>
    </div>
  );
}
