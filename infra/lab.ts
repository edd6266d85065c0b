/**
 * `deno task lab`: the README's three-PC deployment on one machine, in network namespaces
 * `pc1`, `pc2` and `pc3` on a bridge of their own (`infra/lab_net.ts`), with link faults to play
 * (`infra/lab_scenarios.ts`) and the numbers that show the network survived them.
 *
 *     deno task lab                          # up, print addresses and logs, wait for Ctrl-C
 *     deno task lab --list                   # the scenarios
 *     deno task lab --scenario cut-cps       # up, play it, check, print the numbers, down
 *     deno task lab --scenario all --report data/lab/report.json
 *
 * Needs Linux, root, `ip` and `tc`. Everything stops and the namespaces go on Ctrl-C, at the
 * end, and after a failure.
 *
 * @module
 */
import { join } from "node:path";
import { parseProgramArgs } from "../shared/version.ts";
import { numbersLine } from "./lab_checks.ts";
import { missingPrerequisite, ROOT } from "./lab_hosts.ts";
import { type Lab, startLab } from "./lab_run.ts";
import { playScenario, type ScenarioReport, SCENARIOS } from "./lab_scenarios.ts";

const USAGE = `Usage: deno task lab [--scenario NAME|all ...] [--report FILE] [--dir DIR] [--list]

Runs the README's three-PC network in Linux network namespaces (pc1: Kafka, Registry,
Central, weather office; pc2: 5 CPs; pc3: 3 drivers), needs root, ip and tc.
Without --scenario it stays up until Ctrl-C.

Options:
  --scenario <name>  Play this fault, then check and stop (repeatable; "all" plays each)
  --list             Name the scenarios
  --report <file>    Write the scenarios' numbers as JSON
  --dir <path>       Folder of the lab's runs (default data/lab)
  -h, --help         Show this help
  --version          Show the version`;

const encoder = new TextEncoder();
function say(text: string): void {
  Deno.stdout.writeSync(encoder.encode(`lab: ${text}\n`));
}

/** Prints each host's address and every process's log file. */
function printLayout(lab: Lab): void {
  for (const host of ["pc1", "pc2", "pc3"] as const) {
    say(`${host} ${lab.net.address[host]} (ip netns exec ${lab.net.ns[host]} …)`);
    for (const [name, p] of lab.processes) {
      if (lab.hostOf.get(name) === host) say(`  ${name.padEnd(16)} ${p.logFile}`);
    }
  }
  say(`observer (in pc1): ${join(lab.logDir, "probe.log")}`);
}

/** One scenario's report as lines. */
function reportLines(r: ScenarioReport): string[] {
  const timings = Object.entries(r.timings).map(([k, v]) => `${k} ${v}`).join(", ");
  return [
    `${r.name}: ${r.failures.length === 0 ? "PASSED" : "FAILED"}`,
    `  timings: ${timings}`,
    `  loop: ${numbersLine(r.check.numbers)}`,
    `  audit chain: ${r.auditVerified ? "verified" : "REJECTED"}`,
    ...r.failures.slice(0, 20).map((f) => `  ✗ ${f}`),
    ...(r.failures.length > 20 ? [`  … and ${r.failures.length - 20} more`] : []),
  ];
}

async function main(args: string[]): Promise<number> {
  const parsed = parseProgramArgs("lab", USAGE, args, {
    scenario: { type: "string", multiple: true },
    list: { type: "boolean" },
    report: { type: "string" },
    dir: { type: "string" },
  });
  if ("exit" in parsed) return parsed.exit;
  const { values } = parsed;
  if (values.list) {
    for (const s of SCENARIOS) console.log(`${s.name.padEnd(14)} ${s.summary}`);
    return 0;
  }
  const names = (values.scenario ?? []).flatMap((n) =>
    n === "all" ? SCENARIOS.map((s) => s.name) : [n]
  );
  const scenarios = names.map((n) => SCENARIOS.find((s) => s.name === n));
  const unknown = names.filter((_, i) => scenarios[i] === undefined);
  if (unknown.length > 0) {
    console.error(
      `lab: no scenario ${unknown.join(", ")} (there are: ${
        SCENARIOS.map((s) => s.name).join(", ")
      })`,
    );
    return 2;
  }
  const missing = await missingPrerequisite();
  if (missing !== undefined) {
    console.error(`lab: ${missing}`);
    return 3;
  }

  const abort = new AbortController();
  const onSignal = () => {
    say("stopping…");
    abort.abort(new Error("interrupted"));
  };
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) Deno.addSignalListener(sig, onSignal);

  const dir = values.dir ?? join(ROOT, "data", "lab");
  let lab: Lab | undefined;
  try {
    const started = Date.now();
    lab = await startLab({ dir, progress: say, signal: abort.signal });
    say(`up in ${Math.round((Date.now() - started) / 1000)} s`);
    printLayout(lab);
    if (scenarios.length === 0) {
      say("Ctrl-C stops everything and removes the namespaces");
      await new Promise((resolve) => abort.signal.addEventListener("abort", resolve));
      return 0;
    }
    const reports: ScenarioReport[] = [];
    for (const scenario of scenarios) {
      const report = await playScenario(lab, scenario!, say, abort.signal);
      reports.push(report);
      for (const line of reportLines(report)) say(line);
    }
    if (values.report) {
      await Deno.writeTextFile(values.report, `${JSON.stringify(reports, null, 2)}\n`);
      say(`report: ${values.report}`);
    }
    say("summary:");
    for (const r of reports) {
      say(`  ${r.name.padEnd(14)} ${r.failures.length === 0 ? "PASSED" : "FAILED"}`);
    }
    return reports.every((r) => r.failures.length === 0) ? 0 : 1;
  } catch (error) {
    if (abort.signal.aborted) return 130;
    console.error(`lab: ${error instanceof Error ? error.message : error}`);
    return 1;
  } finally {
    if (lab) {
      say("stopping every process and removing the namespaces…");
      await lab.stop();
      say(`stopped; logs stay in ${lab.logDir}`);
    }
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
