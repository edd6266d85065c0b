/**
 * A CP's audit records for its page: those of `GET /audit` and of the live stream whose
 * parameters name the CP (`cpId`, `cp_id`, or any value equal to its id), each once, newest
 * first. Pure: no DOM.
 *
 * @module
 */
import type { AuditView } from "./state.ts";

/** Records a CP's page shows at most. */
export const CP_AUDIT_LIMIT = 50;

/** Whether `record` is about CP `id`. */
export function namesCp(record: AuditView, id: string): boolean {
  return Object.values(record.params).some((v) => v === id);
}

/** CP `id`'s records among `lists` (each newest first), each once, newest first. */
export function cpAudit(
  id: string,
  lists: readonly (readonly AuditView[])[],
  limit = CP_AUDIT_LIMIT,
): AuditView[] {
  const bySeq = new Map<number, AuditView>();
  for (const list of lists) for (const r of list) if (namesCp(r, id)) bySeq.set(r.seq, r);
  return [...bySeq.values()].sort((a, b) => b.seq - a.seq).slice(0, limit);
}
