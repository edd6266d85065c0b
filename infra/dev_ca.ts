/**
 * The development CA (ARCHITECTURE §TLS), made with `@peculiar/x509` and Web Crypto (no openssl):
 * an ECDSA P-256 root (CA:true, keyCertSign) and a server certificate it signs (serverAuth,
 * SANs for localhost, 127.0.0.1, ::1 and any extra host). `infra/certs.ts` is the CLI; tests
 * call {@link createDevCertificates} and {@link writeDevCertificates} on a temp folder.
 *
 * @module
 */
// @peculiar/x509 (through tsyringe) needs the Reflect metadata API when it loads: this import
// must stay before it.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { join } from "node:path";
import { isIP } from "node:net";

// @peculiar/x509 needs a Web Crypto implementation; Deno's global one is complete.
x509.cryptoProvider.set(crypto);

const EC_KEY: EcKeyGenParams = { name: "ECDSA", namedCurve: "P-256" };
const SIGNING: EcdsaParams = { name: "ECDSA", hash: "SHA-256" };
const DAY_MS = 24 * 3600 * 1000;

/** Hosts every server certificate names, so local clients work with any loopback spelling. */
export const DEFAULT_HOSTS = ["localhost", "127.0.0.1", "::1"] as const;

/** A certificate and its private key, PEM-encoded. */
export interface PemPair {
  /** Certificate (PEM). */
  readonly cert: string;
  /** Private key (PEM, PKCS#8). */
  readonly key: string;
}

/** A CA: its PEM files plus the live objects needed to sign with it. */
export interface DevCa extends PemPair {
  /** Parsed CA certificate (issuer of server certificates). */
  readonly certificate: x509.X509Certificate;
  /** Key pair whose private half signs server certificates. */
  readonly keys: CryptoKeyPair;
}

/** The four files of `certs/`. */
export interface DevCertificates {
  /** The root CA (clients trust `ca.cert`). */
  readonly ca: PemPair;
  /** The server certificate and key. */
  readonly server: PemPair;
}

/** Options shared by the generators. */
export interface CertOptions {
  /** Certificate start; default now. Backdated one hour for clock skew between machines. */
  readonly now?: Date;
  /** Validity in days. */
  readonly validDays?: number;
}

/** A `--host` value that is neither an IP address nor a DNS name. */
export class BadHostError extends Error {
  /** Always `"BadHostError"`. */
  override name = "BadHostError";
}

/** One SAN entry, as `@peculiar/x509` takes it. */
export interface SanEntry {
  /** `ip` for addresses (IP SAN), `dns` for names (DNS SAN). */
  readonly type: "ip" | "dns";
  /** The address or name. */
  readonly value: string;
}

const DNS_NAME =
  /^(?=.{1,253}$)(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * The SANs of a server certificate: {@link DEFAULT_HOSTS} plus `hosts`, without duplicates.
 * IPs (v4 or v6, brackets allowed) become IP SANs, names DNS SANs (lower-cased).
 * @throws {BadHostError} for a value that is neither.
 */
export function sanEntries(hosts: readonly string[] = []): SanEntry[] {
  const seen = new Set<string>();
  const out: SanEntry[] = [];
  for (const raw of [...DEFAULT_HOSTS, ...hosts]) {
    const host = raw.trim().replace(/^\[(.*)\]$/, "$1");
    let entry: SanEntry;
    if (isIP(host) !== 0) entry = { type: "ip", value: host };
    else if (DNS_NAME.test(host)) entry = { type: "dns", value: host.toLowerCase() };
    else throw new BadHostError(`"${raw}" is neither an IP address nor a DNS name`);
    const id = `${entry.type}:${entry.value}`;
    if (!seen.has(id)) {
      seen.add(id);
      out.push(entry);
    }
  }
  return out;
}

function validity(options: CertOptions, defaultDays: number): { notBefore: Date; notAfter: Date } {
  const now = options.now ?? new Date();
  return {
    notBefore: new Date(now.getTime() - 3600_000),
    notAfter: new Date(now.getTime() + (options.validDays ?? defaultDays) * DAY_MS),
  };
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(pkcs8, "PRIVATE KEY");
}

/** Makes a root CA: ECDSA P-256, CA:true (path length 0), keyCertSign + cRLSign, 10 years. */
export async function createDevCa(
  options: CertOptions & { commonName?: string } = {},
): Promise<DevCa> {
  const keys = await crypto.subtle.generateKey(EC_KEY, true, ["sign", "verify"]);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${options.commonName ?? "EVCharging development CA"}, O=EVCharging`,
    keys,
    signingAlgorithm: SIGNING,
    ...validity(options, 3650),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return {
    certificate,
    keys,
    cert: certificate.toString("pem"),
    key: await privateKeyPem(keys.privateKey),
  };
}

/**
 * Makes a server certificate signed by `ca`: ECDSA P-256, CA:false, digitalSignature,
 * serverAuth, SANs from {@link sanEntries}`(hosts)`, about two years.
 */
export async function createServerCert(
  ca: DevCa,
  options: CertOptions & { hosts?: readonly string[] } = {},
): Promise<PemPair> {
  const sans = sanEntries(options.hosts);
  const keys = await crypto.subtle.generateKey(EC_KEY, true, ["sign", "verify"]);
  const certificate = await x509.X509CertificateGenerator.create({
    subject: `CN=${sans[0].value}, O=EVCharging`,
    issuer: ca.certificate.subject,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: SIGNING,
    ...validity(options, 825),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(sans),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
    ],
  });
  return { cert: certificate.toString("pem"), key: await privateKeyPem(keys.privateKey) };
}

/** Makes a fresh CA and a server certificate for `hosts` (plus the loopback defaults). */
export async function createDevCertificates(
  options: CertOptions & { hosts?: readonly string[] } = {},
): Promise<DevCertificates> {
  const ca = await createDevCa(options);
  const server = await createServerCert(ca, options);
  return { ca: { cert: ca.cert, key: ca.key }, server };
}

/** The paths of the four files inside `dir`. */
export function certPaths(
  dir: string,
): { caCert: string; caKey: string; cert: string; key: string } {
  return {
    caCert: join(dir, "ca.pem"),
    caKey: join(dir, "ca.key"),
    cert: join(dir, "server.pem"),
    key: join(dir, "server.key"),
  };
}

/** Some certificate files already exist and `force` was not given. */
export class CertsExistError extends Error {
  /** Always `"CertsExistError"`. */
  override name = "CertsExistError";
  /** The files that would have been overwritten. */
  readonly existing: string[];

  /** Creates the error listing the existing files. */
  constructor(existing: string[]) {
    super(
      `not overwriting existing ${existing.join(", ")} (use --force to replace them; ` +
        "every client must then get the new ca.pem)",
    );
    this.existing = existing;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * Writes `ca.pem`, `ca.key`, `server.pem`, `server.key` into `dir` (created if needed).
 * Private keys get mode 0600. Refuses to overwrite any of them unless `force`.
 * @returns the written paths.
 * @throws {CertsExistError} when a file exists and `force` is not set.
 */
export async function writeDevCertificates(
  dir: string,
  certs: DevCertificates,
  options: { force?: boolean } = {},
): Promise<string[]> {
  const paths = certPaths(dir);
  const files: [string, string, number][] = [
    [paths.caCert, certs.ca.cert, 0o644],
    [paths.caKey, certs.ca.key, 0o600],
    [paths.cert, certs.server.cert, 0o644],
    [paths.key, certs.server.key, 0o600],
  ];
  if (!options.force) {
    const existing = [];
    for (const [path] of files) if (await exists(path)) existing.push(path);
    if (existing.length > 0) throw new CertsExistError(existing);
  }
  await Deno.mkdir(dir, { recursive: true });
  for (const [path, text, mode] of files) {
    // `mode` only applies when a file is created: tighten an existing one before the key
    // lands in it, so a private key is never readable by others, even for a moment.
    if (await exists(path)) await Deno.chmod(path, mode);
    await Deno.writeTextFile(path, text, { mode });
  }
  return files.map(([path]) => path);
}
