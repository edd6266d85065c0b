/**
 * What the tests of Central's pure core share (central/core_test.ts and the security and
 * weather ones): a fixed clock, the Registry data of a CP, and a runner of several inputs.
 * Not used by Central itself.
 *
 * @module
 */
import { type Effect, type Input, type Model, step } from "./core.ts";

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

/** `ms` as an ISO timestamp. */
export const ts = (ms: number): string => new Date(ms).toISOString();
