/**
 * `deno task certs [--host NAME|IP ...] [--dir certs] [--force]`: makes the development CA and
 * a server certificate it signs in `certs/` (ARCHITECTURE §TLS). Copy `certs/ca.pem` to every machine
 * that runs a client (or point `EV_CA_FILE` at it); keep the `.key` files where they are.
 *
 * @module
 */
import {
  BadHostError,
  CertsExistError,
  createDevCertificates,
  sanEntries,
  writeDevCertificates,
} from "./dev_ca.ts";
import { CERT_DIR } from "../shared/tls.ts";
import { parseProgramArgs } from "../shared/version.ts";

const USAGE = `Usage: deno task certs [--host NAME|IP ...] [--dir DIR] [--force]

Makes a development CA (ca.pem, ca.key) and a server certificate signed by it
(server.pem, server.key) for localhost, 127.0.0.1, ::1 and every --host.

Options:
  --host <name|ip>   Extra name or address the server is reached by (repeatable)
  --dir <path>       Output folder (default ${CERT_DIR})
  --force            Replace existing files (clients then need the new ca.pem)
  -h, --help         Show this help
  --version          Show the version`;

async function main(args: string[]): Promise<number> {
  const parsed = parseProgramArgs("certs", USAGE, args, {
    host: { type: "string", multiple: true },
    dir: { type: "string" },
    force: { type: "boolean" },
  });
  if ("exit" in parsed) return parsed.exit;
  const { values } = parsed;
  const hosts = values.host ?? [];
  const dir = values.dir ?? CERT_DIR;
  try {
    const sans = sanEntries(hosts);
    const certs = await createDevCertificates({ hosts });
    const written = await writeDevCertificates(dir, certs, { force: values.force });
    console.log(`certs: wrote ${written.join(", ")}`);
    console.log(`certs: server certificate names ${sans.map((s) => s.value).join(", ")}`);
    console.log("certs: clients trust ca.pem (set EV_CA_FILE to use another path)");
    return 0;
  } catch (error) {
    if (error instanceof CertsExistError || error instanceof BadHostError) {
      console.error(`certs: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
