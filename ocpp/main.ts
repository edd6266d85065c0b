/**
 * `deno task ocpp`: parses the command line and starts the gateway (`gateway.ts`), or with
 * `--register <id>` registers a charger at the Registry and prints its credential once.
 *
 * @module
 */
// First: the Registry's schemas (imported by gateway.ts) must extend zod with `.openapi` before
// shared/messages.ts builds its schemas.
import { startGateway } from "./gateway.ts";
import { createRegistryClient } from "../registry/client.ts";
import { loadConfig } from "../shared/config.ts";
import { getLogger, setupLogging, stopLogging } from "../shared/log.ts";
import { caFilePath, loadTlsFiles, readPem } from "../shared/tls.ts";
import { ocppConfig } from "./config.ts";

const log = getLogger(["evcharging", "ocpp"]);

type Config = ReturnType<typeof loadConfig<typeof ocppConfig.options>>;

/** Registers `config.register` and prints what the charger must be configured with. */
async function register(config: Config, cpId: string, caCert: string): Promise<void> {
  if (config.registryAdminKey === undefined) {
    throw new Error("--register needs the Registry's admin key (REGISTRY_ADMIN_KEY)");
  }
  const registry = await createRegistryClient({
    url: config.registryUrl,
    caCert,
    adminKey: config.registryAdminKey,
  });
  try {
    const { credentials } = await registry.register({
      cp_id: cpId,
      location: config.location,
      price_eur_kwh: config.priceEurKwh,
      power_kw: config.powerKw,
    });
    // Shown once, to the operator who configures the charger; never logged.
    console.log(`charger ${cpId} registered.`);
    console.log(`  OCPP URL:            wss://<this host>:${config.port}/ocpp/${cpId}`);
    console.log(`  Basic auth user:     ${cpId}`);
    console.log(`  Basic auth password: ${credentials}`);
    console.log("  (the password is shown only now; register again to replace it)");
  } finally {
    registry.close();
  }
}

async function main(): Promise<void> {
  const config = loadConfig(ocppConfig);
  await setupLogging({ level: config.logLevel, format: config.logFormat });
  const caCert = await readPem(caFilePath(config.caFile), "CERTIFICATE");
  if (config.register !== undefined) {
    await register(config, config.register, caCert);
    await stopLogging();
    return;
  }
  const gateway = await startGateway({
    hostname: config.host,
    port: config.port,
    tls: config.plainWs
      ? undefined
      : await loadTlsFiles({ certFile: config.certFile, keyFile: config.keyFile }),
    brokers: config.brokers,
    central: config.central,
    registryUrl: config.registryUrl,
    caCert,
    credentialsDir: config.credentialsDir,
    heartbeatIntervalS: config.heartbeatIntervalS,
  });
  console.log(`OCPP 1.6J gateway: chargers connect to ${gateway.url}/<chargePointId>`);
  const stop = async () => {
    log.info("stopping the OCPP gateway", {});
    await gateway.stop();
    await stopLogging();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error(`ocpp: ${(error as Error).message}`);
    await stopLogging();
    Deno.exit(1);
  }
}
