/**
 * Registry changes in Central's core: a deregistration in the Registry takes effect at once.
 *
 * @module
 */
import { type Draft, iso } from "./draft.ts";
import type { RegistryChangeInput } from "./model.ts";
import { dropKeys } from "./security.ts";

/**
 * Applies one change of the Registry's feed. A deregistration logs the CP out for good
 * (`LOGOUT deregistered`), revokes its keys, ends its session with a ticket (`deregistered`)
 * and marks it deregistered: it leaves the drivers' list and every request is denied. A
 * deregistration of a registration older than the one the CP last logged in with is stale
 * (the feed was caught up after a re-registration) and changes nothing. A new registration
 * clears the mark; the CP charges again once it logs in with its new credentials.
 */
export function registryChange(d: Draft, input: RegistryChangeInput, now: number): void {
  d.emit({ type: "save_registry_seq", seq: input.seq });
  const cp = d.cp(input.cpId);
  if (cp === undefined || input.action === "updated") return;
  const known = cp.securityInfo.registeredAt;
  const about = input.registeredAt;
  if (input.action === "registered") {
    if (known !== null && about !== null && about <= known) return;
    d.setCp({
      ...cp,
      securityInfo: { ...cp.securityInfo, registeredAt: about, deregisteredAt: null },
    });
    d.note("info", "CP {cpId} registered again in the Registry", { cpId: cp.id });
    return;
  }
  if (cp.securityInfo.deregisteredAt !== null) return;
  if (known !== null && about !== null && about < known) {
    d.note("info", "CP {cpId}: deregistration of an earlier registration ignored", {
      cpId: cp.id,
    });
    return;
  }
  const sessionId = dropKeys(d, cp, "deregistered", "deregistered", now);
  const gone = d.cp(cp.id)!;
  d.setCp({
    ...gone,
    securityInfo: { ...gone.securityInfo, deregisteredAt: iso(now) },
  });
  d.note("warning", "CP {cpId} deregistered in the Registry: logged out, keys revoked", {
    cpId: cp.id,
    keyVersion: cp.keyVersion,
    sessionId,
  });
  d.audit({
    actor: "registry",
    action: "cp.deregistered",
    outcome: "ok",
    params: { cpId: cp.id, keyVersion: cp.keyVersion, sessionId, feedSeq: input.seq },
  });
}
