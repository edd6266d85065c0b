/**
 * The version every program of the network reports for `--version` (shared/config.ts), one
 * constant for the whole repository: its parts are built and released together.
 *
 * @module
 */

/** The EVCharging version. */
export const EVCHARGING_VERSION = "0.1.0";

/** What `<program> --version` prints. */
export function versionLine(program: string): string {
  return `${program} ${EVCHARGING_VERSION} (EVCharging, Deno ${Deno.version.deno})`;
}
