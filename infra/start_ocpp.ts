/**
 * `deno task start --ocpp`: the OCPP 1.6J gateway (`ocpp/main.ts`) as one more process of the
 * local network, and a demo charger id registered for it, so a charger simulator can connect at
 * once. The demo charger's credential goes where the gateway keeps its chargers' credentials
 * (a 0600 file in a 0700 folder), never on the screen.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { createRegistryClient, RegistryError } from "../registry/client.ts";
import { writePrivateFileAtomic } from "../shared/private_files.ts";
import { type LocalNetwork, Service } from "./network.ts";

/** The gateway's port under `deno task start`. */
export const START_OCPP_PORT = 9000;
/** The charger id registered for a simulator. */
export const DEMO_CHARGER_ID = "OCPP-001";

/** The running gateway and what a charger needs to reach it. */
export interface StartedOcpp {
  /** The gateway process. */
  readonly service: Service;
  /** The URL prefix (`wss://localhost:9000/ocpp`). */
  readonly url: string;
  /** The demo charger's id. */
  readonly chargerId: string;
  /** The file with its credential (the Basic auth password), if this run knows it. */
  readonly credentialsFile?: string;
}

/**
 * Registers the demo charger (first run only: a credential is shown once) and starts the gateway
 * on `port` ({@link START_OCPP_PORT} under `deno task start`; a test passes a free one).
 * @throws {Error} if the gateway does not come up; its log file is named.
 */
export async function startOcppGateway(
  net: LocalNetwork,
  dataDir: string,
  logLevel: string,
  port: number = START_OCPP_PORT,
): Promise<StartedOcpp> {
  const credentialsDir = join(dataDir, "ocpp");
  const credentialsFile = await registerDemoCharger(net, dataDir, credentialsDir);
  const service = new Service({
    name: "ocpp",
    script: "ocpp/main.ts",
    permissions: ["--allow-net", "--allow-env", "--allow-read", "--allow-write"],
    args: [
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--central",
      net.centralTcp,
      "--registry-url",
      net.registryUrl,
      "--ca",
      net.caFile,
      "--cert",
      join(dirname(net.caFile), "server.pem"),
      "--key",
      join(dirname(net.caFile), "server.key"),
      "--credentials-dir",
      credentialsDir,
      "--log-format",
      "json",
      "--log-level",
      logLevel,
    ],
    detached: true,
  }, join(dataDir, "logs"));
  await service.start();
  await service.waitForLine("the OCPP gateway", (line) => line.includes("chargers connect to"));
  return {
    service,
    url: `wss://localhost:${port}/ocpp`,
    chargerId: DEMO_CHARGER_ID,
    credentialsFile,
  };
}

/** The demo charger's credentials file: registered now, or kept from an earlier run. */
async function registerDemoCharger(
  net: LocalNetwork,
  dataDir: string,
  credentialsDir: string,
): Promise<string | undefined> {
  // The layout of a CP credentials file (shared/cp_credentials.ts), which the gateway reads.
  const file = join(credentialsDir, `${DEMO_CHARGER_ID}.credentials`);
  const adminKey = (await Deno.readTextFile(join(dataDir, "registry_admin.key"))).trim();
  const caCert = await Deno.readTextFile(net.caFile);
  const registry = await createRegistryClient({ url: net.registryUrl, caCert, adminKey });
  try {
    const { credentials } = await registry.register({
      cp_id: DEMO_CHARGER_ID,
      location: "Alicante",
      price_eur_kwh: 0.4,
      power_kw: 22,
    });
    const stored = {
      cp_id: DEMO_CHARGER_ID,
      credentials,
      registry_url: net.registryUrl,
      registered_at: new Date().toISOString(),
    };
    await writePrivateFileAtomic(file, JSON.stringify(stored, null, 2) + "\n");
    return file;
  } catch (error) {
    // Registered by an earlier run: its credential is in the file, if that run wrote it.
    if (!(error instanceof RegistryError) || error.status !== 409) throw error;
    return await Deno.stat(file).then(() => file, () => undefined);
  } finally {
    registry.close();
  }
}
