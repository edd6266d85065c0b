/**
 * The contract between Central and the local supervisor (`deno task start`,
 * infra/supervisor_api.ts), which starts and stops the simulated CPs it runs on its machine:
 * the body that asks for a new CP and the view of one ({@link localCpSchema}). Central forwards the dashboard's calls
 * (central/api_dashboard.ts); both sides validate with {@link newLocalCpSchema}.
 *
 * @module
 */
import { z } from "zod";
import {
  cpIdSchema,
  MAX_LOCATION_CHARS,
  MAX_POWER_KW,
  MAX_PRICE_EUR_KWH,
  textSchema,
} from "./messages.ts";

/** Smallest power a CP accepts (`--power`), kW. */
export const MIN_LOCAL_POWER_KW = 0.1;

/**
 * Whether `n` prints as `cp/main.ts`'s `--price`/`--power` parser reads it: plain digits, no
 * exponent (`String(1e-7)` is `"1e-7"`).
 */
const plainDecimal = (n: number) => /^\d+(\.\d+)?$/.test(String(n));

/** `POST /cps` of the supervisor (and `POST /local/cps` of Central). */
export const newLocalCpSchema = z.strictObject({
  id: cpIdSchema,
  // A flag's value on the CP's command line: no spaces around it, and never read as a flag.
  location: textSchema(MAX_LOCATION_CHARS).refine(
    (s) => s.trim() === s && !s.startsWith("-"),
    "must not start with - or have spaces around it",
  ),
  price_eur_kwh: z.number().min(0).max(MAX_PRICE_EUR_KWH).refine(
    plainDecimal,
    "must be a plain decimal",
  ),
  power_kw: z.number().min(MIN_LOCAL_POWER_KW).max(MAX_POWER_KW).refine(
    plainDecimal,
    "must be a plain decimal",
  ),
});

/** A new local CP. */
export type NewLocalCp = z.infer<typeof newLocalCpSchema>;

/**
 * What the supervisor can do to a running local CP's processes, for a demo:
 * `POST /cps/{id}/<action>` (and `POST /local/cps/{id}/<action>` at Central).
 */
export const LOCAL_CP_ACTIONS = [
  "fault",
  "repair",
  "kill-engine",
  "kill-monitor",
  "restart-engine",
  "restart-monitor",
] as const;

/** One of {@link LOCAL_CP_ACTIONS}. */
export type LocalCpAction = typeof LOCAL_CP_ACTIONS[number];

/** A locally run simulated CP, as the supervisor shows it. */
export const localCpSchema = z.object({
  id: z.string(),
  location: z.string(),
  price_eur_kwh: z.number(),
  power_kw: z.number(),
  running: z.boolean().describe("whether its process (cp/main.ts) runs"),
  pid: z.int().nullable().describe("the process id while it runs"),
  engine_running: z.boolean().optional().describe("whether its engine process runs"),
  monitor_running: z.boolean().optional().describe("whether its monitor process runs"),
  faulty: z.boolean().optional().describe("whether its engine's simulated fault is on"),
});

/** A locally run simulated CP. */
export type LocalCpView = z.infer<typeof localCpSchema>;
