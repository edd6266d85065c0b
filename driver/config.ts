/**
 * The driver's command line (ARCHITECTURE §Processes and ports, the original brief's order): `<broker> <driver-id>
 * [<file>]`, or the same as flags with environment fallbacks.
 *
 * @module
 */

import {
  brokersOption,
  defineConfig,
  duration,
  flag,
  langOption,
  logLevelOption,
  option,
  text,
} from "../shared/config.ts";
import { isIP } from "node:net";
import { isValidCpId } from "../shared/encoding.ts";
import { DEFAULT_PAUSE_MS } from "./core.ts";

/** A driver id: the same rule as a CP id, 3–64 of `[A-Za-z0-9_-]`. */
function driverId(raw: string): string {
  if (!isValidCpId(raw)) throw new Error("a driver id of 3–64 characters of A–Z, a–z, 0–9, _ or -");
  return raw;
}

/** An IPv4 or IPv6 address. */
function ipAddress(raw: string): string {
  if (isIP(raw.trim()) === 0) throw new Error("an IPv4 or IPv6 address");
  return raw.trim();
}

/** `driver/main.ts` (`deno task driver`). */
export const driverConfig = defineConfig({
  name: "driver",
  summary: "An EV driver: asks Central for charges over Kafka and shows live figures and " +
    "tickets. Interactive on a terminal; with a file, charges at each CP id in it in turn.",
  options: {
    brokers: brokersOption(0),
    driverId: option(driverId, {
      flag: "driver-id",
      env: "DRIVER_ID",
      position: 1,
      help: "this driver's id (its Kafka key and consumer group)",
    }),
    file: option(text, {
      flag: "file",
      position: 2,
      optional: true,
      help: "file of CP ids, one per line (# comments); runs them in turn, then exits",
    }),
    loop: flag({ flag: "loop", help: "with --file: start again after the last CP, forever" }),
    pauseMs: option(duration, {
      flag: "pause",
      env: "DRIVER_PAUSE",
      default: DEFAULT_PAUSE_MS,
      help: "with --file: wait after each ticket or denial (ms, or 4s, 1m)",
    }),
    originIp: option(ipAddress, {
      flag: "origin-ip",
      env: "DRIVER_ORIGIN_IP",
      optional: true,
      help: "this host's address as its requests report it (default: the local address of " +
        "its connection to the first broker)",
    }),
    lang: langOption,
    logLevel: logLevelOption(),
  },
});
