/**
 * Reading OCPP 1.6 meter values (pure): the energy register and the power a charger reports in
 * `MeterValues` (and in `StopTransaction.transactionData`), in the units the network uses (kWh,
 * kW). A sample whose measurand is absent is the energy register, as OCPP 1.6 defines; a value
 * that is not a finite number is skipped, never guessed.
 *
 * @module
 */

/** One `sampledValue` of OCPP 1.6 (only the fields that matter here). */
export interface SampledValue {
  /** The reading, a decimal number as a string. */
  readonly value: string;
  /** What is measured; absent means `Energy.Active.Import.Register`. */
  readonly measurand?: string;
  /** The unit; absent means `Wh` for energy and `W` for power. */
  readonly unit?: string;
  /** `Raw` (default) or `SignedData`: a signed value is not a number. */
  readonly format?: string;
}

/** One `meterValue` entry: a time and its samples. */
export interface MeterValue {
  /** ISO 8601 time of the samples. */
  readonly timestamp: string;
  /** The samples. */
  readonly sampledValue: readonly SampledValue[];
}

/** What a set of meter values says, in the network's units. */
export interface MeterReading {
  /** The energy register at the newest sample that has one, Wh. */
  readonly energyWh?: number;
  /** When that register was read, ms since the epoch. */
  readonly energyAt?: number;
  /** The newest active import power, kW. */
  readonly powerKw?: number;
}

const ENERGY_REGISTER = "Energy.Active.Import.Register";
const POWER = "Power.Active.Import";

/** A sample's number, or undefined when it is signed data or not a finite number. */
function numberOf(sample: SampledValue): number | undefined {
  if (sample.format === "SignedData") return undefined;
  const value = Number(sample.value);
  return sample.value.trim() !== "" && Number.isFinite(value) ? value : undefined;
}

/** The energy of a sample in Wh, or undefined when it is not the import register. */
function energyWhOf(sample: SampledValue): number | undefined {
  if ((sample.measurand ?? ENERGY_REGISTER) !== ENERGY_REGISTER) return undefined;
  const value = numberOf(sample);
  if (value === undefined) return undefined;
  return sample.unit === "kWh" ? value * 1000 : value;
}

/** The power of a sample in kW, or undefined when it is not active import power. */
function powerKwOf(sample: SampledValue): number | undefined {
  if (sample.measurand !== POWER) return undefined;
  const value = numberOf(sample);
  if (value === undefined) return undefined;
  return sample.unit === "kW" ? value : value / 1000;
}

/**
 * The newest energy register and power among `values` (by their timestamps; a later entry wins
 * a tie). Entries with an unreadable timestamp are skipped.
 */
export function readMeter(values: readonly MeterValue[]): MeterReading {
  let energyWh: number | undefined;
  let energyAt: number | undefined;
  let powerKw: number | undefined;
  let powerAt: number | undefined;
  for (const entry of values) {
    const at = Date.parse(entry.timestamp);
    if (!Number.isFinite(at)) continue;
    for (const sample of entry.sampledValue) {
      const energy = energyWhOf(sample);
      if (energy !== undefined && (energyAt === undefined || at >= energyAt)) {
        energyWh = energy;
        energyAt = at;
      }
      const power = powerKwOf(sample);
      if (power !== undefined && (powerAt === undefined || at >= powerAt)) {
        powerKw = power;
        powerAt = at;
      }
    }
  }
  return { energyWh, energyAt, powerKw };
}

/**
 * The mean power between two register readings, kW; undefined when no time passed or the
 * register went back (a replayed older reading).
 */
export function meanPowerKw(
  fromWh: number,
  fromAt: number,
  toWh: number,
  toAt: number,
): number | undefined {
  const hours = (toAt - fromAt) / 3_600_000;
  if (hours <= 0 || toWh < fromWh) return undefined;
  return (toWh - fromWh) / 1000 / hours;
}
