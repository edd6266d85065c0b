/**
 * TLS for every EVCharging component (ARCHITECTURE §TLS): where the development CA and the server
 * certificate live, loading them for `Deno.serve`, and HTTPS clients that trust the project CA.
 *
 * Clients add the project CA (`certs/ca.pem`, or `EV_CA_FILE`) to the roots they trust through
 * `Deno.createHttpClient({caCerts})`; nothing in this project ever turns certificate checks off.
 * A CA exists at all because rustls (Deno's TLS) refuses a self-signed certificate used directly
 * as a server certificate. `deno task certs` makes the files (see `infra/certs.ts`).
 *
 * TLS versions: Deno's TLS is rustls, which implements only TLS 1.2 and TLS 1.3 (it never had
 * SSLv3, TLS 1.0 or 1.1), so every server and client here is TLS 1.2+ without any setting.
 *
 * @module
 */

/** Folder of the development CA and server certificate, relative to the repository root. */
export const CERT_DIR = "certs";
/** The development CA certificate every client trusts. */
export const CA_CERT_FILE = `${CERT_DIR}/ca.pem`;
/** The development CA private key (only `deno task certs` reads it). */
export const CA_KEY_FILE = `${CERT_DIR}/ca.key`;
/** The server certificate (signed by the CA) that HTTPS servers present. */
export const SERVER_CERT_FILE = `${CERT_DIR}/server.pem`;
/** The server certificate's private key. */
export const SERVER_KEY_FILE = `${CERT_DIR}/server.key`;
/** Environment variable that points clients at another CA file. */
export const CA_FILE_ENV = "EV_CA_FILE";

/** What to tell an operator when a certificate file is missing. */
export const CERTS_HINT = "run `deno task certs` to create a development CA and server certificate";

/** A certificate and its private key, PEM-encoded, as `Deno.serve` takes them. */
export interface TlsFiles {
  /** The certificate chain (PEM). */
  readonly cert: string;
  /** The private key (PEM, PKCS#8). */
  readonly key: string;
}

/** A TLS file is missing or is not PEM; the message says which and how to make it. */
export class TlsFileError extends Error {
  /** Always `"TlsFileError"`. */
  override name = "TlsFileError";
}

/**
 * The CA file clients trust: `override` if given, else `EV_CA_FILE`, else `certs/ca.pem`.
 * Reading the variable needs `--allow-env`; without it the default is used.
 */
export function caFilePath(override?: string): string {
  if (override !== undefined && override !== "") return override;
  let fromEnv: string | undefined;
  try {
    fromEnv = Deno.env.get(CA_FILE_ENV);
  } catch {
    fromEnv = undefined; // no env permission: the default still works
  }
  return fromEnv !== undefined && fromEnv !== "" ? fromEnv : CA_CERT_FILE;
}

/**
 * Reads a PEM file and checks it holds the expected block (`CERTIFICATE` or `PRIVATE KEY`).
 * @throws {TlsFileError} if the file is missing, unreadable or not PEM.
 */
export async function readPem(path: string, label: "CERTIFICATE" | "PRIVATE KEY"): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new TlsFileError(`${path} not found: ${CERTS_HINT}`);
    }
    throw new TlsFileError(`cannot read ${path}: ${(error as Error).message}`);
  }
  if (!text.includes(`-----BEGIN ${label}-----`)) {
    throw new TlsFileError(`${path} is not a PEM ${label.toLowerCase()}: ${CERTS_HINT}`);
  }
  return text;
}

/**
 * Loads a server's certificate and key for `Deno.serve({cert, key})`.
 * @throws {TlsFileError} naming the missing file and saying to run `deno task certs`.
 */
export async function loadTlsFiles(
  paths: { certFile?: string; keyFile?: string } = {},
): Promise<TlsFiles> {
  const cert = await readPem(paths.certFile ?? SERVER_CERT_FILE, "CERTIFICATE");
  const key = await readPem(paths.keyFile ?? SERVER_KEY_FILE, "PRIVATE KEY");
  return { cert, key };
}

/**
 * An HTTP client that trusts the given CA certificate(s) in addition to the system roots.
 * The caller closes it (`client.close()`), or pooled connections stay open.
 */
export function httpsClientFromPem(...caPems: string[]): Deno.HttpClient {
  return Deno.createHttpClient({ caCerts: caPems });
}

/**
 * An HTTP client that trusts the project CA: reads {@link caFilePath}`(caFile)`.
 * Pass it to `fetch(url, {client})`; close it when done.
 * @throws {TlsFileError} if the CA file is missing or not a PEM certificate.
 */
export async function httpsClient(caFile?: string): Promise<Deno.HttpClient> {
  return httpsClientFromPem(await readPem(caFilePath(caFile), "CERTIFICATE"));
}

/**
 * Opens a TLS connection to `hostname:port` that trusts `caPems` (the project CA), checking
 * that the server's certificate names `hostname`; resolves once the handshake is done. Nagle's algorithm is turned off on the TCP
 * socket first: framed conversations send many tiny frames, and a `TlsConn` has no such switch.
 */
export async function connectTls(
  hostname: string,
  port: number,
  caPems: readonly string[],
): Promise<Deno.TlsConn> {
  const tcp = await Deno.connect({ hostname, port });
  tcp.setNoDelay(true);
  try {
    const tls = await Deno.startTls(tcp, { hostname, caCerts: [...caPems] });
    try {
      await tls.handshake(); // fail here, naming the certificate problem, not at the first read
    } catch (error) {
      tls.close();
      throw error;
    }
    return tls;
  } catch (error) {
    try {
      tcp.close();
    } catch {
      // startTls took the socket and closed it already
    }
    throw error;
  }
}

/**
 * Whether `hostname` is a loopback address (`localhost`, 127.0.0.0/8, `::1`): only a server
 * listening there may speak plain HTTP, since nothing off this machine can reach it. A wildcard
 * (`0.0.0.0`, `::`) listens on every interface and is not loopback.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost" || host === "::1" || host === "0:0:0:0:0:0:0:1") return true;
  const v4 = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return v4 !== null && v4.slice(1).every((part) => Number(part) <= 255);
}
