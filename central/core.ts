/**
 * Central's pure core: given the model, one input and its context (the timings and the time
 * `now`), {@link step} returns the next model and the effects that must follow (rows to store,
 * messages for the outbox, connections to close, notes to log). No clock, no randomness, no
 * I/O: the edges pass the time in the {@link CoreContext} and any new id in the input, and carry
 * out the effects (central/runtime.ts stores them in one SQLite transaction, then the outbox
 * publisher and the TCP server act on them).
 *
 * The rules come from ARCHITECTURE §Security model, §CP states, §Sessions and docs/charging_loop.md:
 * - A charge request is AUTHORIZED only if the CP is `ACTIVATED`, its security status is
 *   `ACTIVE`, it is not held and it has a live key; otherwise DENIED with the first reason that
 *   applies. Every request is answered once: the edge says whether the driver's `requestId`
 *   was answered before.
 * - A session opens at AUTHORIZED (the CP is reserved and shows `SUPPLYING`) and closes with
 *   exactly one TICKET: at the engine's `SUPPLY_END`; at once when the CP goes `BROKEN`; when
 *   the engine has not ended it within the stop wait after a STOP; or, if no vehicle was ever
 *   reported plugged in, after the plug wait (the AUTHORIZE may never have reached the engine).
 *   Central closes with the last figures it stored; a later `SUPPLY_END` for a closed session
 *   is ignored.
 * - Money is Central's: € = kWh × the price fixed at authorization (the CP's Registry price).
 * - The weather office holds a CP with an `alert` and lifts its hold with a `clear`. The weather
 *   hold is kept apart from the stop reason shown, so it and an admin hold never lift each
 *   other: a clear resumes only a CP stopped for the weather, and an admin resume of a CP the
 *   weather still holds leaves it stopped for the weather.
 *
 * The core lives in rooms under central/core/: the model, inputs and effects (`model.ts`); the
 * step and its draft (`step.ts`, `draft.ts`); logins, keys and security (`security.ts`);
 * charging, telemetry, stop/resume and the weather (`charging.ts`); Registry changes
 * (`registry.ts`). This module is their one entry: everything else imports the core from here.
 *
 * @module
 */
export {
  type CoreConfig,
  type CoreContext,
  type Cp,
  DEFAULT_CORE_CONFIG,
  type Effect,
  EMPTY_MODEL,
  type Input,
  type InputOf,
  type Model,
  NO_SECURITY_INFO,
  type NoteLevel,
  type RegistryChangeInput,
  type RegistryCp,
  type RequestRecord,
  type SecurityInfo,
  type SecurityStatus,
  type Session,
  type Step,
  type WeatherReport,
  type WeatherStatus,
} from "./core/model.ts";
export { chargingSeconds, cpList, denyReason, priceOf } from "./core/charging.ts";
export {
  type LoginRefusal,
  loginRefusal,
  refuseLogin,
  type SecurityAction,
  securityRefusal,
  securityRefusalNotice,
} from "./core/security.ts";
export { step, stepAll } from "./core/step.ts";
