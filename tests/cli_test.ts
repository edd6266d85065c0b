/**
 * Every program of the repository answers `--version`, `-h` and `--help` as real processes:
 * exit 0, the version line, the usage text, and no escape codes in either (they go to a pipe).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { EVCHARGING_VERSION } from "../shared/version.ts";

const PROGRAMS = [
  "central/main.ts",
  "central/audit_verify.ts",
  "registry/main.ts",
  "weather/main.ts",
  "driver/main.ts",
  "cp/main.ts",
  "cp/engine_main.ts",
  "cp/monitor_main.ts",
  "fleet/main.ts",
  "fleet/bench.ts",
  "infra/start.ts",
  "infra/kafka.ts",
  "infra/certs.ts",
  "infra/compile.ts",
  "infra/test.ts",
  "infra/web_build.ts",
  "infra/lab.ts",
  "infra/demo.ts",
  "fleet/dashboard_probe.ts",
  "fleet/bench_dashboard.ts",
  "central/dashboard_load_main.ts",
  "fleet/bench_tls.ts",
  "fleet/bench_kafka_clients.ts",
  "ocpp/main.ts",
];

async function run(program: string, arg: string): Promise<{ code: number; out: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(import.meta.dirname!, "..", program), arg],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(stdout);
  assert.equal(code, 0, `${program} ${arg}: ${new TextDecoder().decode(stderr)}`);
  return { code, out };
}

Deno.test("cli: every program answers --version, -h and --help", async () => {
  // Two at a time: the machine is shared.
  const queue = [...PROGRAMS];
  const worker = async () => {
    for (let program = queue.shift(); program !== undefined; program = queue.shift()) {
      const version = await run(program, "--version");
      assert.match(
        version.out,
        new RegExp(` ${EVCHARGING_VERSION.replaceAll(".", "\\.")} `),
        program,
      );
      for (const arg of ["-h", "--help"]) {
        const help = await run(program, arg);
        assert.match(help.out, /^Usage: /, `${program} ${arg}`);
        assert.match(help.out, /--version/, `${program} ${arg}`);
        assert.ok(!help.out.includes("\x1b"), `${program} ${arg}: no escape codes into a pipe`);
      }
    }
  };
  await Promise.all([worker(), worker()]);
});

Deno.test("cli: every deno.json task that runs a program has it in the list above", () => {
  const root = join(import.meta.dirname!, "..");
  const { tasks } = JSON.parse(readFileSync(join(root, "deno.json"), "utf8")) as {
    tasks: Record<string, string>;
  };
  const programs = Object.values(tasks).flatMap((command) =>
    [...command.matchAll(/deno run [^&]*?(\S+\.ts)/g)].map((m) => m[1])
  );
  assert.ok(programs.length >= 15, `programs found in deno.json: ${programs.length}`);
  for (const program of programs) assert.ok(PROGRAMS.includes(program), `${program} is tested`);
});
