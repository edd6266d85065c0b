/**
 * What the gateway keeps of a charger across its own restart (pure): the open session (so a
 * charger that replays its StopTransaction after the gateway restarted is billed from its meter,
 * with the same transaction id), Central's hold, whether the charger took itself out of service
 * (so its maintenance ends only when it reports `Available`, even if it does not say `Unavailable`
 * again after the restart), the ended transactions and the calls waiting for the charger.
 * Connector statuses are not kept (a charger reports them again at boot), nor calls waiting for
 * Central (their socket is gone).
 *
 * @module
 */

import { z } from "zod";
import { endReasonSchema, stopReasonSchema } from "../shared/messages.ts";
import {
  type ChargerModel,
  initialCharger,
  MAX_QUEUED_CALLS,
  REMEMBERED_TRANSACTIONS,
} from "./core.ts";

/** The file format's version. */
export const CHARGER_STATE_VERSION = 1;

const finite = z.number().finite();

const savedSchema = z.object({
  v: z.literal(CHARGER_STATE_VERSION),
  cpId: z.string(),
  hold: stopReasonSchema.optional(),
  chargerUnavailable: z.boolean().optional(),
  session: z.object({
    sessionId: z.string().min(1).max(128),
    driverId: z.string().min(1).max(64),
    priceEurKwh: finite.nonnegative(),
    transactionId: z.number().int().positive().optional(),
    meterStartWh: finite.optional(),
    meterWh: finite.optional(),
    meterAt: finite.optional(),
    kw: finite.nonnegative(),
    endReason: endReasonSchema.optional(),
  }).optional(),
  ended: z.array(z.number().int()).max(REMEMBERED_TRANSACTIONS),
  queued: z.array(z.object({
    action: z.enum(["RemoteStartTransaction", "RemoteStopTransaction", "ChangeAvailability"]),
    payload: z.record(z.string(), z.unknown()),
  })).max(MAX_QUEUED_CALLS),
});

/** The part of `model` kept on disk, as JSON text. */
export function savedText(model: ChargerModel): string {
  return JSON.stringify({
    v: CHARGER_STATE_VERSION,
    cpId: model.cpId,
    hold: model.hold,
    ...(model.chargerUnavailable ? { chargerUnavailable: true } : {}),
    session: model.session,
    ended: model.ended,
    queued: model.queued,
  });
}

/** What restoring gave: the model, and why the text was not used if it was not. */
export interface Restored {
  readonly model: ChargerModel;
  readonly problem?: string;
}

/**
 * The model of charger `cpId` from a saved text (absent: a charger never seen). A text that is
 * not such a state, or another charger's, gives a fresh model and says why.
 */
export function restoreCharger(cpId: string, text: string | undefined): Restored {
  const fresh = initialCharger(cpId);
  if (text === undefined) return { model: fresh };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { model: fresh, problem: "not JSON" };
  }
  const parsed = savedSchema.safeParse(value);
  if (!parsed.success) return { model: fresh, problem: parsed.error.issues[0]?.message };
  const saved = parsed.data;
  if (saved.cpId !== cpId) return { model: fresh, problem: `it is charger ${saved.cpId}'s` };
  return {
    model: {
      ...fresh,
      hold: saved.hold,
      chargerUnavailable: saved.chargerUnavailable ?? false,
      session: saved.session,
      ended: saved.ended,
      queued: saved.queued,
    },
  };
}
