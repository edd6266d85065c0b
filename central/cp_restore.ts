/**
 * Restoring a CP that was revoked for good (`REVOKED`; ARCHITECTURE §Revocation and status), for
 * every place an admin asks for it: `POST /cps/{id}/restore` (central/api_restore.ts) and
 * Central's terminal panel (central/tui.ts). In one action:
 *
 * 1. the Registry issues the CP new credentials (through Central's Registry client, with its
 *    admin key): whatever the old ones were, they stop working;
 * 2. the core's `restore` sets its security to ACTIVE and lifts the `revoked` hold (audited as
 *    `security.restore`, with the reason and the origin, never the credentials);
 * 3. for a CP the local supervisor runs (`deno task start`), the supervisor writes them to the
 *    CP's 0600 credentials file and starts its monitor again, which logs in with them.
 *
 * One restore at a time per CP, whoever asks: two at once would each issue credentials and the
 * later would find the CP ACTIVE, leaving the live ones with nobody. A CP that is not REVOKED is
 * refused (and the refusal audited); a Registry that fails leaves Central unchanged (audited as
 * failed).
 *
 * @module
 */
import type { RegistryClient } from "../registry/client.ts";
import { getLogger } from "../shared/log.ts";
import { notice, type NoticeFields } from "../shared/notices.ts";
import type { SupervisorCall } from "./api_dashboard.ts";
import { type Cp, securityRefusalNotice } from "./core.ts";
import type { CentralRuntime } from "./runtime.ts";

const log = getLogger(["evcharging", "central", "restore"]);

/** What a restore needs. */
export interface RestorerDeps {
  /** The running model, its dispatcher and its audit log. */
  readonly runtime: CentralRuntime;
  /** The clock. */
  readonly now: () => Date;
  /** The Registry client holding Central's Registry admin key, if Central has one. */
  readonly registry?: RegistryClient;
  /** The local supervisor, when Central was started by `deno task start`. */
  readonly supervisor?: SupervisorCall;
}

/** Who asks for a restore, and why (both go into the audit record). */
export interface RestoreAsk {
  /** The admin's reason. */
  readonly reason?: string;
  /** The address the request came from (REST), if known. */
  readonly originIp?: string;
}

/** A restore done: the CP now, its new credentials (shown once), and where they went. */
export interface Restored {
  /** Done. */
  readonly ok: true;
  /** The CP after the restore. */
  readonly cp: Cp;
  /** The new Registry credentials: for the operator's eyes only, never logged. */
  readonly credentials: string;
  /** The registration they belong to. */
  readonly registeredAt: string;
  /** Whether the local supervisor gave them to the CP. */
  readonly delivered: boolean;
  /** What happened to them, in words. */
  readonly delivery: NoticeFields;
}

/** A restore refused or failed before anything changed at Central. */
export type NotRestored =
  | {
    readonly ok: false;
    /** The HTTP status that says it. */
    readonly status: 404 | 409 | 503;
    /** The error code. */
    readonly error: string;
    /** Why, as a notice. */
    readonly detail: NoticeFields;
  }
  /** The Registry's call failed (central/api_dashboard.ts `registryProblem` answers it). */
  | { readonly ok: false; readonly registryError: unknown };

/** Restores REVOKED CPs, one at a time per CP. */
export class CpRestorer {
  readonly #deps: RestorerDeps;
  readonly #underWay = new Set<string>();

  /** Restores through `deps`. */
  constructor(deps: RestorerDeps) {
    this.#deps = deps;
  }

  /** Restores `id`, unless a restore of it is under way already. */
  async restore(id: string, ask: RestoreAsk = {}): Promise<Restored | NotRestored> {
    if (this.#underWay.has(id)) {
      return { ok: false, status: 409, error: "busy", detail: notice("restore_busy", { id }) };
    }
    this.#underWay.add(id);
    try {
      return await this.#restore(id, ask);
    } finally {
      this.#underWay.delete(id);
    }
  }

  async #restore(id: string, ask: RestoreAsk): Promise<Restored | NotRestored> {
    const { runtime, now, registry } = this.#deps;
    const reason: { reason?: string } = ask.reason === undefined ? {} : { reason: ask.reason };
    const origin = ask.originIp === undefined ? {} : { originIp: ask.originIp };
    const cp = runtime.model.cps.get(id);
    if (cp === undefined) {
      return { ok: false, status: 404, error: "not_found", detail: notice("no_cp", { id }) };
    }
    const refused = securityRefusalNotice(cp, { type: "restore" });
    if (refused !== null) {
      // The core audits the refusal.
      runtime.dispatch({ type: "restore", cpId: id, ...reason, ...origin }, now().getTime());
      return { ok: false, status: 409, error: "conflict", detail: refused };
    }
    const failed = (detail: string) =>
      runtime.audit({
        actor: "admin",
        action: "security.restore",
        outcome: "failed",
        params: { cpId: id, ...reason, detail },
        ...origin,
      });
    if (registry === undefined) {
      failed("no Registry admin key");
      return {
        ok: false,
        status: 503,
        error: "no_registry_admin_key",
        detail: notice("no_registry_admin_key"),
      };
    }
    let issued;
    try {
      issued = await registry.resetCredentials(id);
    } catch (error) {
      failed(error instanceof Error ? error.name : "error");
      return { ok: false, registryError: error };
    }
    // ACTIVE before the monitor gets them, so its first login with them is accepted.
    runtime.dispatch({ type: "restore", cpId: id, ...reason, ...origin }, now().getTime());
    const { delivered, delivery } = await deliver(this.#deps.supervisor, id, issued);
    log.info("Admin restored CP {cpId}: new credentials issued ({delivery})", {
      cpId: id,
      delivery: delivery.detail,
    });
    return {
      ok: true,
      cp: runtime.model.cps.get(id) ?? cp,
      credentials: issued.credentials,
      registeredAt: issued.registered_at,
      delivered,
      delivery,
    };
  }
}

/** Hands the new credentials to the local supervisor; whether the CP got them, and how. */
async function deliver(
  supervisor: SupervisorCall | undefined,
  id: string,
  issued: { readonly credentials: string; readonly registered_at: string },
): Promise<{ delivered: boolean; delivery: NoticeFields }> {
  const elsewhere = { delivered: false, delivery: notice("restore_not_local", { id }) };
  if (supervisor === undefined) return elsewhere;
  try {
    const res = await supervisor("POST", `/cps/${encodeURIComponent(id)}/credentials`, {
      credentials: issued.credentials,
      registered_at: issued.registered_at,
    });
    await res.body?.cancel();
    if (res.ok) return { delivered: true, delivery: notice("restore_delivered") };
    if (res.status === 404) return elsewhere;
    return {
      delivered: false,
      delivery: notice("restore_supervisor_refused", { status: res.status, id }),
    };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return {
      delivered: false,
      delivery: notice("restore_supervisor_silent", { error: why, id }),
    };
  }
}
