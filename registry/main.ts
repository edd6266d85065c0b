/**
 * `deno task registry`: the Registry process (ARCHITECTURE §Processes and ports, §Registration). Parses the config, loads the
 * TLS files and starts {@link startRegistryServer}; stops cleanly on SIGINT/SIGTERM.
 *
 * @module
 */
import { loadConfig } from "../shared/config.ts";
import { endOnSignals, getLogger, setupLogging, stopLogging } from "../shared/log.ts";
import { loadTlsFiles, TlsFileError } from "../shared/tls.ts";
import { registryConfig } from "./config.ts";
import { startRegistryServer } from "./server.ts";

const config = loadConfig(registryConfig);
await setupLogging({ level: config.logLevel });
const log = getLogger(["evcharging", "registry"]);

let tls;
try {
  tls = await loadTlsFiles({ certFile: config.cert, keyFile: config.key });
} catch (error) {
  if (!(error instanceof TlsFileError)) throw error;
  await stopLogging();
  console.error(`registry: ${error.message}`); // plain text: an operator's next step, not a record
  Deno.exit(1);
}

const registry = await startRegistryServer({
  port: config.port,
  hostname: config.host,
  tls,
  dbPath: config.db,
  adminKey: config.adminKey,
  feedKey: config.feedKey,
  tokenTtlMs: config.tokenTtlMs,
});

endOnSignals(async () => {
  log.info("registry stopping");
  await registry.close();
});
