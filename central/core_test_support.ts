/**
 * What the tests of Central's core share (central/core_test.ts, the security, weather, registry
 * and maintenance ones, and the tests that drive a runtime): a fixed clock, the Registry data
 * of a CP, builders of the inputs the edges send, and readers of the effects. Not used by
 * Central itself.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { CommandPayload, DriverUpdate, TelemetryPayload } from "../shared/messages.ts";
import { type Cp, type Effect, type Input, type Model, step } from "./core.ts";
import type { CentralStore } from "./store.ts";

/** The tests' "now". */
export const T0 = Date.parse("2025-03-01T10:00:00.000Z");

/** What the Registry says of the tests' CPs. */
export const REGISTRY = { location: "Calle Mayor 1", priceEurKwh: 0.5, powerKw: 22 };

/** Applies inputs in order; returns the last model and every effect. */
export function run(model: Model, ...inputs: Input[]): { model: Model; effects: Effect[] } {
  const effects: Effect[] = [];
  for (const input of inputs) {
    const s = step(model, input);
    model = s.model;
    effects.push(...s.effects);
  }
  return { model, effects };
}

/** Steps the model through `inputs`, committing each step to `store` like the runtime does. */
export function drive(store: CentralStore, model: Model, ...inputs: Input[]): Model {
  for (const input of inputs) {
    const s = step(model, input);
    store.commit(s.effects);
    model = s.model;
  }
  return model;
}

/** `ms` as an ISO timestamp. */
export const ts = (ms: number): string => new Date(ms).toISOString();

/** The input of one type. */
type InputOf<T extends Input["type"]> = Extract<Input, { type: T }>;

/**
 * CP-1's login on `connection` at T0 with {@link REGISTRY}, key version `connection` and
 * wrapped key `wrapped-<connection>`; `over` changes any field.
 */
export const loginInput = (connection = 1, over: Partial<InputOf<"login">> = {}): Input => ({
  type: "login",
  cpId: "CP-1",
  connection,
  registry: REGISTRY,
  keyVersion: connection,
  wrappedKey: `wrapped-${connection}`,
  at: T0,
  ...over,
});

/** D-1's first-time request `requestId` to charge at CP-1 (session `S-<requestId>`) at T0+1s. */
export const chargeInput = (
  requestId: string,
  over: Partial<InputOf<"charge_request">> = {},
): Input => ({
  type: "charge_request",
  requestId,
  driverId: "D-1",
  cpId: "CP-1",
  sessionId: `S-${requestId}`,
  duplicate: false,
  at: T0 + 1000,
  ...over,
});

/** CP `cpId`'s telemetry `payload` (version 1, stamped `at`) arriving at `at`. */
export const telemetryInput = (
  payload: Record<string, unknown>,
  at: number,
  cpId = "CP-1",
): Input => ({
  type: "telemetry",
  cpId,
  payload: { v: 1, ts: ts(at), ...payload } as TelemetryPayload,
  at,
});

/** A SUPPLY reading of session `sessionId` at 22 kW with `kwh` so far (at 0.5 €/kWh). */
export const supplyInput = (kwh: number, at: number, sessionId = "S-r1", cpId = "CP-1"): Input =>
  telemetryInput({ type: "SUPPLY", sessionId, kw: 22, kwh, eur: kwh / 2 }, at, cpId);

/** The weather office's report `status` for CP-1 in Madrid at `at` (-3 °C unless `over` says). */
export const weatherInput = (
  status: InputOf<"weather">["status"],
  at: number,
  over: Partial<InputOf<"weather">> = {},
): Input => ({
  type: "weather",
  cpId: "CP-1",
  city: "Madrid",
  temperatureC: -3,
  status,
  at,
  ...over,
});

/** CP `cpId`'s login on `connection` at `at`: `At <cpId>`, 0.5 €/kWh, 22 kW, key version 1. */
export const cpLogin = (cpId: string, connection: number, at = T0): Input =>
  loginInput(connection, {
    cpId,
    registry: { location: `At ${cpId}`, priceEurKwh: 0.5, powerKw: 22 },
    keyVersion: 1,
    wrappedKey: "w",
    at,
  });

/** D-1's request r1 to charge at CP-1, which opens session S1 at T0+1s. */
export const CHARGE_S1: Input = chargeInput("r1", { sessionId: "S1" });

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
