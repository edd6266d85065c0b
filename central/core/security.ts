/**
 * Logins, keys and security status in Central's core: who may log in, what a login and a refused
 * one change, and an admin's key revocation, rotation and security status (ARCHITECTURE
 * §Login and keys, §Revocation and status).
 *
 * @module
 */
import {
  type AuditOutcome,
  type AuditParams,
  type AuthFailReason,
  build,
  commandPayloadSchema,
  type CpProtocol,
  type EndReason,
  type LogoutReason,
} from "../../shared/messages.ts";
import {
  notice,
  type NoticeCode,
  type NoticeFields,
  type NoticeParams,
} from "../../shared/notices.ts";
import { DISCONNECTED } from "../cp_state.ts";
import { endSession, resume, stop } from "./charging.ts";
import { apply, cpActor, type Draft, iso, safeDetail } from "./draft.ts";
import {
  type CoreContext,
  type Cp,
  type InputOf,
  type Model,
  NO_SECURITY_INFO,
  type SecurityStatus,
} from "./model.ts";

/**
 * Why a login is refused (`AUTH_FAIL`): the reason, whether to retry, and one line for the
 * monitor's operator as a notice (English words, and a code with parameters the monitor shows in
 * its language).
 */
export interface LoginRefusal extends NoticeFields {
  /** `AUTH_FAIL.reason`. */
  readonly reason: AuthFailReason;
  /** Whether the monitor should try again. */
  readonly retryable: boolean;
}

/** The refusal for `reason`, with the notice `code` and its `params` as the operator's line. */
export function refuseLogin(
  reason: AuthFailReason,
  retryable: boolean,
  code: NoticeCode,
  params?: NoticeParams,
): LoginRefusal {
  return { reason, retryable, ...notice(code, params) };
}

/**
 * Checks a login whose token verified and whose CP the Registry knows: it must still be
 * registered, and Central must not have revoked it. Returns null to accept.
 */
export function loginRefusal(
  model: Model,
  cpId: string,
  registryStatus: "REGISTERED" | "DEREGISTERED",
): LoginRefusal | null {
  if (registryStatus === "DEREGISTERED") {
    return refuseLogin("deregistered", false, "login_deregistered", { id: cpId });
  }
  if (model.cps.get(cpId)?.security === "REVOKED") {
    return refuseLogin("revoked", false, "login_revoked", { id: cpId });
  }
  return null;
}

/** A monitor passed every login check: the CP is connected with its new key version (a previous connection is replaced). */
export function login(d: Draft, input: InputOf<"login">, now: number): void {
  const prev = d.cp(input.cpId);
  const replaced = prev?.connection ?? null;
  if (replaced !== null) {
    d.emit({
      type: "close_connection",
      cpId: input.cpId,
      connection: replaced,
      logout: "replaced",
    });
  }
  const base: Cp = prev ?? {
    id: input.cpId,
    ...input.registry,
    status: DISCONNECTED,
    security: "ACTIVE",
    keyVersion: null,
    connection: null,
    lastSeenMs: null,
    securityInfo: NO_SECURITY_INFO,
  };
  const cp: Cp = {
    ...withProtocol(base, input.protocol),
    ...input.registry,
    status: apply(base.status, { type: "LOGIN" }),
    keyVersion: input.keyVersion,
    connection: input.connection,
    lastSeenMs: now,
    // The Registry has just confirmed the CP registered: any deregistration seen is over.
    securityInfo: {
      ...base.securityInfo,
      lastLoginAt: iso(now),
      keyRevokedAt: null, // a new key: the "key revoked" mark clears
      registeredAt: input.registeredAt ?? base.securityInfo.registeredAt,
      deregisteredAt: null,
    },
  };
  d.emit({
    type: "save_key",
    cpId: cp.id,
    keyVersion: input.keyVersion,
    wrappedKey: input.wrappedKey,
    at: iso(now),
  });
  d.setCp(cp);
  // The engine may have restarted and forgotten the hold: tell it again under the new key.
  if (cp.status.stopReason !== null) {
    d.command(
      cp.id,
      build(commandPayloadSchema, "STOP", { reason: cp.status.stopReason, ts: iso(now) }),
    );
  }
  d.note("info", "CP {cpId} logged in with key version {keyVersion}: {state}", {
    cpId: cp.id,
    keyVersion: input.keyVersion,
    state: cp.status.state,
    replaced: replaced !== null,
  });
  d.audit({
    actor: cpActor(cp.id),
    action: "cp.login",
    outcome: "ok",
    params: { cpId: cp.id, keyVersion: input.keyVersion, replaced: replaced !== null },
    originIp: input.originIp,
  });
}

/** How a refused login is audited: refused by policy, invalid, or Central could not decide. */
const LOGIN_FAIL_OUTCOME: Record<AuthFailReason, AuditOutcome> = {
  bad_request: "rejected",
  bad_token: "rejected",
  expired_token: "rejected",
  cp_mismatch: "rejected",
  unknown_cp: "denied",
  deregistered: "denied",
  revoked: "denied",
  registry_unavailable: "failed",
  internal_error: "failed",
};

/** A refused login: counted for a known CP, else the address's; audited as a flood. */
export function loginFailed(d: Draft, input: InputOf<"login_failed">): void {
  if (input.cpId === undefined) {
    // Aggregated per address: a flood from one address is one record per window.
    d.audit({
      actor: `address:${input.originIp ?? "unknown"}`,
      action: "cp.login",
      outcome: LOGIN_FAIL_OUTCOME[input.reason],
      // The finer reason: it is also the aggregation key, so each failed check shows.
      params: { reason: input.why ?? input.reason },
      originIp: input.originIp,
    }, true);
    return;
  }
  const cp = d.cp(input.cpId);
  // Only known CPs are counted: ids anyone can make up must not grow the database.
  if (cp) {
    const info = cp.securityInfo;
    d.setCp({ ...cp, securityInfo: { ...info, failedLogins: info.failedLogins + 1 } });
  }
  d.audit({
    actor: cpActor(input.cpId),
    action: "cp.login",
    outcome: LOGIN_FAIL_OUTCOME[input.reason],
    params: { cpId: input.cpId, reason: input.reason },
    originIp: input.originIp,
  }, true);
}

/** An admin security action the core may refuse. */
export type SecurityAction =
  | { readonly type: "revoke_keys"; readonly rotate: boolean }
  | { readonly type: "set_security"; readonly status: SecurityStatus }
  | { readonly type: "restore" };

/**
 * Why an admin security action on `cp` is refused, as a notice (English words, and a code with
 * parameters for screens to translate), or null to do it. REVOKED is left only by a restore
 * (ARCHITECTURE §Revocation and status), which issues new credentials: no status change and no
 * new key leave it, and only a REVOKED CP is restored.
 */
export function securityRefusalNotice(cp: Cp, action: SecurityAction): NoticeFields | null {
  if (action.type === "restore") {
    return cp.security === "REVOKED"
      ? null
      : notice("refused_not_revoked", { id: cp.id, security: cp.security });
  }
  if (cp.security !== "REVOKED") return null;
  if (action.type === "set_security" && action.status !== "REVOKED") {
    return notice("refused_revoked_status", { id: cp.id });
  }
  if (action.type === "revoke_keys" && action.rotate) {
    return notice("refused_revoked_key", { id: cp.id });
  }
  return null;
}

/** {@link securityRefusalNotice}'s English words (what the audit record keeps), or null. */
export function securityRefusal(cp: Cp, action: SecurityAction): string | null {
  return securityRefusalNotice(cp, action)?.detail ?? null;
}

/**
 * Takes every key of `cp` away: revoked in the store and keyring, no live version, and the
 * monitor logged out with `logout` (the CP shows DISCONNECTED until it logs in again). Its open
 * session ends now with `endReason`, billed with the last figures: without a key the engine's
 * own SUPPLY_END could not be read (the monitor tells the engine, which stops supplying).
 * Returns the ended session's id, or null.
 */
export function dropKeys(
  d: Draft,
  cp: Cp,
  logout: LogoutReason,
  endReason: EndReason,
  now: number,
): string | null {
  d.emit({ type: "revoke_keys", cpId: cp.id, at: iso(now) });
  let next: Cp = {
    ...cp,
    keyVersion: null,
    securityInfo: { ...cp.securityInfo, revokedAt: iso(now) },
  };
  if (cp.connection !== null) {
    d.emit({ type: "close_connection", cpId: cp.id, connection: cp.connection, logout });
    next = { ...next, status: apply(cp.status, { type: "LOST" }), connection: null };
  }
  d.setCp(next);
  const session = d.openSession(cp.status.sessionId);
  if (session) endSession(d, session, endReason, now, null);
  return session?.id ?? null;
}

/** An admin revokes (or rotates) every key of a CP, unless it is REVOKED for good. */
export function revokeKeys(d: Draft, input: InputOf<"revoke_keys">, now: number): void {
  const cp = d.cp(input.cpId);
  if (cp === undefined) return;
  const action = input.rotate ? "key.rotate" : "key.revoke";
  const reason: { reason?: string } = input.reason === undefined ? {} : { reason: input.reason };
  const refused = securityRefusal(cp, input);
  if (refused !== null) {
    d.audit({
      actor: "admin",
      action,
      outcome: "denied",
      params: { cpId: cp.id, detail: refused, ...reason },
      originIp: input.originIp,
    });
    return;
  }
  // Marked "key revoked" until it logs in again; a rotation logs in again at once: no mark.
  const marked: Cp = input.rotate
    ? cp
    : { ...cp, securityInfo: { ...cp.securityInfo, keyRevokedAt: iso(now) } };
  const sessionId = dropKeys(
    d,
    marked,
    input.rotate ? "key_rotated" : "key_revoked",
    "key_lost",
    now,
  );
  d.note("warning", "CP {cpId}: keys {action} by an admin (was version {keyVersion})", {
    cpId: cp.id,
    action: input.rotate ? "rotated" : "revoked",
    keyVersion: cp.keyVersion,
  });
  d.audit({
    actor: "admin",
    action,
    outcome: "ok",
    params: { cpId: cp.id, keyVersion: cp.keyVersion, sessionId, ...reason },
    originIp: input.originIp,
  });
}

/** An admin sets a CP's security status: OUT_OF_SERVICE stops it, ACTIVE resumes it, REVOKED drops its keys for good. */
export function setSecurity(d: Draft, input: InputOf<"set_security">, context: CoreContext): void {
  const cp = d.cp(input.cpId);
  if (cp === undefined) return;
  const { status } = input;
  const reason = safeDetail(input.reason);
  const audit = (outcome: AuditOutcome, params: AuditParams) =>
    d.audit({
      actor: "admin",
      action: "security.set",
      outcome,
      params: { cpId: cp.id, status, previous: cp.security, reason, ...params },
      originIp: input.originIp,
    });
  const refused = securityRefusal(cp, input);
  if (refused !== null) return audit("denied", { detail: refused });
  const changed: Cp = {
    ...cp,
    security: status,
    securityInfo: { ...cp.securityInfo, reason, changedAt: iso(context.now) },
  };
  d.setCp(changed);
  let sessionId: string | null = null;
  if (status === "OUT_OF_SERVICE" && cp.security !== "OUT_OF_SERVICE") {
    // Logged in but held: the engine ends its session (status_lost) like after any stop.
    sessionId = cp.status.sessionId;
    stop(d, changed, "out_of_service", context);
  } else if (status === "ACTIVE" && cp.status.stopReason === "out_of_service") {
    resume(d, changed, context);
  } else if (status === "REVOKED" && cp.security !== "REVOKED") {
    const held = { ...changed, status: apply(changed.status, { type: "STOP", reason: "revoked" }) };
    sessionId = dropKeys(d, held, "revoked", "status_lost", context.now);
  }
  d.note(status === "ACTIVE" ? "info" : "warning", "CP {cpId} security {previous} → {status}", {
    cpId: cp.id,
    previous: cp.security,
    status,
  });
  audit("ok", { sessionId });
}

/**
 * An admin restores a REVOKED CP: the Registry has issued it new credentials (never seen here),
 * its status is ACTIVE again and the `revoked` hold lifts, so its next login is accepted.
 * Audited as `security.restore` with the reason, never the credentials.
 */
export function restore(d: Draft, input: InputOf<"restore">, context: CoreContext): void {
  const cp = d.cp(input.cpId);
  if (cp === undefined) return;
  const reason = input.reason === undefined ? null : safeDetail(input.reason);
  const audit = (outcome: AuditOutcome, params: AuditParams) =>
    d.audit({
      actor: "admin",
      action: "security.restore",
      outcome,
      params: { cpId: cp.id, previous: cp.security, reason, ...params },
      originIp: input.originIp,
    });
  const refused = securityRefusal(cp, input);
  if (refused !== null) return audit("denied", { detail: refused });
  const restored: Cp = {
    ...cp,
    security: "ACTIVE",
    securityInfo: { ...cp.securityInfo, reason, changedAt: iso(context.now) },
  };
  d.setCp(restored);
  if (restored.status.stopReason === "revoked") resume(d, restored, context);
  d.note("info", "CP {cpId} restored: security REVOKED → ACTIVE, new credentials issued", {
    cpId: cp.id,
  });
  audit("ok", {});
}

/** `cp` with the protocol told at a login: none told drops an earlier one. */
function withProtocol(cp: Cp, protocol: CpProtocol | undefined): Cp {
  if (protocol !== undefined) return { ...cp, protocol };
  if (cp.protocol === undefined) return cp;
  const { protocol: _dropped, ...rest } = cp;
  return rest;
}
