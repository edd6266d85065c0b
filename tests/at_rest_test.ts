/**
 * Secrets and records at rest on a real network of processes (infra/network.ts: Registry,
 * Central, a CP started with `deno task cp`): every folder the network makes is 0700, and every
 * database (with its WAL and SHM files), audit log, key, token, credential, secret and log is
 * 0600, as created (nothing in this test or the code chmods them afterwards).
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { startNetwork } from "../infra/network.ts";
import { testBrokers, uniqueName } from "./kafka_env.ts";
import { integrationTest } from "./network_test_support.ts";

/** Every entry under `dir`, with its mode, folders included. */
function walk(dir: string, out: { path: string; dir: boolean; mode: number }[] = []) {
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    const mode = Deno.statSync(path).mode! & 0o777;
    out.push({ path, dir: entry.isDirectory, mode });
    if (entry.isDirectory) walk(path, out);
  }
  return out;
}

/** Files of the network that hold nothing private (the weather office's city list). */
const PUBLIC_FILES = new Set(["weather_locations.json"]);

integrationTest(
  "at rest: a running network's folders are 0700 and its databases, WAL and SHM files, " +
    "audit log, keys, tokens, credentials and logs 0600",
  async () => {
    const tmp = await Deno.makeTempDir({ prefix: "at_rest_test_" });
    const dir = join(tmp, "data"); // made by the network itself
    const id = uniqueName("CP-REST");
    const net = await startNetwork({
      dir,
      certsDir: join(tmp, "certs"),
      brokers: testBrokers(),
      cps: [{ id, location: "Alicante", priceEurKwh: 0.3, powerKw: 22, args: [] }],
    });
    try {
      await net.waitForCp(id, (c) => c.state === "ACTIVATED");
      const entries = walk(dir);
      const names = entries.map((e) => relative(dir, e.path));
      for (
        const expected of [
          "central.db",
          "central.db-wal",
          "central.db-shm",
          "registry.db",
          "registry.db-wal",
          "audit.jsonl",
          "audit.checkpoint.json",
          "audit_checkpoint.key",
          "central_admin.token",
          "registry_admin.key",
          join("cp", `${id}.credentials`),
          join("cp", `${id}.engine.secret`),
        ]
      ) assert.ok(names.includes(expected), `${expected} exists (have ${names.join(", ")})`);
      assert.equal(Deno.statSync(dir).mode! & 0o777, 0o700, "the data folder");
      for (const e of entries) {
        const name = relative(dir, e.path);
        if (e.dir) assert.equal(e.mode, 0o700, `folder ${name} is ${e.mode.toString(8)}`);
        else if (!PUBLIC_FILES.has(name)) {
          assert.equal(e.mode, 0o600, `file ${name} is ${e.mode.toString(8)}`);
        }
      }
    } finally {
      await net.stop();
      await Deno.remove(tmp, { recursive: true });
    }
  },
);
