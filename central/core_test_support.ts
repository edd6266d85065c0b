/**
 * What the tests of Central's core share (central/core_test.ts, the security, weather, registry
 * and maintenance ones, and the tests that drive a runtime): a fixed clock, the Registry data
 * of a CP, builders of the inputs the edges send with the time they send them at, and readers
 * of the effects. Not used by Central itself.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { CommandPayload, DriverUpdate, TelemetryPayload } from "../shared/messages.ts";
import {
  type CoreConfig,
  type CoreContext,
  type Cp,
  DEFAULT_CORE_CONFIG,
  type Effect,
  type Input,
  type InputOf,
  type Model,
  step,
} from "./core.ts";
import type { CentralRuntime } from "./runtime.ts";
import type { CentralStore } from "./store.ts";

/** The tests' "now". */
export const T0 = Date.parse("2025-03-01T10:00:00.000Z");

/** What the Registry says of the tests' CPs. */
export const REGISTRY = { location: "Calle Mayor 1", priceEurKwh: 0.5, powerKw: 22 };

/** An input and the time its step runs at: what an edge hands Central. */
export interface Timed {
  /** The input. */
  readonly input: Input;
  /** The step's `now`, ms since the epoch. */
  readonly now: number;
}

/** `input`, stepped at `now`. */
export const at = (now: number, input: Input): Timed => ({ input, now });

/** The context of a step at `now`, with the default timings unless `config` says. */
export const ctx = (now: number, config: CoreConfig = DEFAULT_CORE_CONFIG): CoreContext => ({
  config,
  now,
});

/** Applies inputs in order, each at its time; returns the last model and every effect. */
export function run(model: Model, ...steps: Timed[]): { model: Model; effects: Effect[] } {
  const effects: Effect[] = [];
  for (const { input, now } of steps) {
    const s = step(model, input, ctx(now));
    model = s.model;
    effects.push(...s.effects);
  }
  return { model, effects };
}

/** Steps the model through `steps`, committing each step to `store` like the runtime does. */
export function drive(store: CentralStore, model: Model, ...steps: Timed[]): Model {
  for (const { input, now } of steps) {
    const s = step(model, input, ctx(now));
    store.commit(s.effects);
    model = s.model;
  }
  return model;
}

/** Dispatches `steps` to `runtime` in order, each at its time; returns the last one's effects. */
export function dispatch(runtime: CentralRuntime, ...steps: Timed[]): readonly Effect[] {
  let effects: readonly Effect[] = [];
  for (const { input, now } of steps) effects = runtime.dispatch(input, now);
  return effects;
}

/** `ms` as an ISO timestamp. */
export const ts = (ms: number): string => new Date(ms).toISOString();

/**
 * CP-1's login on `connection` at `now` (T0) with {@link REGISTRY}, key version `connection`
 * and wrapped key `wrapped-<connection>`; `over` changes any field.
 */
export const loginInput = (
  connection = 1,
  over: Partial<InputOf<"login">> = {},
  now = T0,
): Timed =>
  at(now, {
    type: "login",
    cpId: "CP-1",
    connection,
    registry: REGISTRY,
    keyVersion: connection,
    wrappedKey: `wrapped-${connection}`,
    ...over,
  });

/**
 * D-1's first-time request `requestId` to charge at CP-1 (session `S-<requestId>`) at `now`
 * (T0+1s).
 */
export const chargeInput = (
  requestId: string,
  over: Partial<InputOf<"charge_request">> = {},
  now = T0 + 1000,
): Timed =>
  at(now, {
    type: "charge_request",
    requestId,
    driverId: "D-1",
    cpId: "CP-1",
    sessionId: `S-${requestId}`,
    duplicate: false,
    ...over,
  });

/** CP `cpId`'s telemetry `payload` (version 1, stamped `now`) arriving at `now`. */
export const telemetryInput = (
  payload: Record<string, unknown>,
  now: number,
  cpId = "CP-1",
): Timed =>
  at(now, {
    type: "telemetry",
    cpId,
    payload: { v: 1, ts: ts(now), ...payload } as TelemetryPayload,
  });

/** A SUPPLY reading of session `sessionId` at 22 kW with `kwh` so far (at 0.5 €/kWh). */
export const supplyInput = (kwh: number, now: number, sessionId = "S-r1", cpId = "CP-1"): Timed =>
  telemetryInput({ type: "SUPPLY", sessionId, kw: 22, kwh, eur: kwh / 2 }, now, cpId);

/** The weather office's report `status` for CP-1 in Madrid at `now` (-3 °C unless `over` says). */
export const weatherInput = (
  status: InputOf<"weather">["status"],
  now: number,
  over: Partial<InputOf<"weather">> = {},
): Timed =>
  at(now, {
    type: "weather",
    cpId: "CP-1",
    city: "Madrid",
    temperatureC: -3,
    status,
    ...over,
  });

/** CP `cpId`'s login on `connection` at `now`: `At <cpId>`, 0.5 €/kWh, 22 kW, key version 1. */
export const cpLogin = (cpId: string, connection: number, now = T0): Timed =>
  loginInput(connection, {
    cpId,
    registry: { location: `At ${cpId}`, priceEurKwh: 0.5, powerKw: 22 },
    keyVersion: 1,
    wrappedKey: "w",
  }, now);

/** D-1's request r1 to charge at CP-1, which opens session S1 at T0+1s. */
export const CHARGE_S1: Timed = chargeInput("r1", { sessionId: "S1" });

/** The messages for drivers that went to the outbox. */
export const published = (effects: readonly Effect[]): DriverUpdate[] =>
  effects.flatMap((e) => e.type === "publish" ? [e.message] : []);

/** The commands sent to engines. */
export const commands = (effects: readonly Effect[]): CommandPayload[] =>
  effects.flatMap((e) => e.type === "command" ? [e.payload] : []);

/** CP `id` of `model`; fails the test when there is none. */
export const cpOf = (model: Model, id = "CP-1"): Cp => {
  const found = model.cps.get(id);
  assert.ok(found, `no ${id}`);
  return found;
};
