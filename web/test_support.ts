/**
 * What the dashboard's state tests share: a CP as the dashboard holds it. Not part of the page.
 *
 * @module
 */
import type { CpView } from "./state.ts";

/** An ACTIVATED CP, idle and unrevoked (`CP-1`, 0.5 €/kWh, 22 kW), with `fields` on top. */
export function idleCp(fields: Partial<CpView> = {}): CpView {
  return {
    id: "CP-1",
    location: "At CP-1",
    price_eur_kwh: 0.5,
    power_kw: 22,
    state: "ACTIVATED",
    stop_reason: null,
    driver_id: null,
    kw: null,
    kwh: null,
    eur: null,
    key_version: 1,
    last_seen: null,
    deregistered_at: null,
    key_revoked: false,
    key_revoked_at: null,
    session_id: null,
    security: "ACTIVE",
    ...fields,
  };
}
