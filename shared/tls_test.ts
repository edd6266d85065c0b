import assert from "node:assert/strict";
import { join } from "node:path";
import {
  CA_CERT_FILE,
  CA_FILE_ENV,
  caFilePath,
  httpsClient,
  isLoopbackHost,
  loadTlsFiles,
  readPem,
  SERVER_CERT_FILE,
  SERVER_KEY_FILE,
  TlsFileError,
} from "./tls.ts";
import { withTempDir } from "./temp_dir.ts";

const CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const KEY = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n";

Deno.test("default paths live in certs/", () => {
  assert.deepEqual([CA_CERT_FILE, SERVER_CERT_FILE, SERVER_KEY_FILE], [
    "certs/ca.pem",
    "certs/server.pem",
    "certs/server.key",
  ]);
});

Deno.test("caFilePath: argument, then EV_CA_FILE, then certs/ca.pem", () => {
  const saved = Deno.env.get(CA_FILE_ENV);
  try {
    Deno.env.delete(CA_FILE_ENV);
    assert.equal(caFilePath(), "certs/ca.pem");
    Deno.env.set(CA_FILE_ENV, "/etc/ev/ca.pem");
    assert.equal(caFilePath(), "/etc/ev/ca.pem");
    assert.equal(caFilePath("mine.pem"), "mine.pem");
    Deno.env.set(CA_FILE_ENV, "");
    assert.equal(caFilePath(), "certs/ca.pem");
  } finally {
    if (saved === undefined) Deno.env.delete(CA_FILE_ENV);
    else Deno.env.set(CA_FILE_ENV, saved);
  }
});

Deno.test("loadTlsFiles reads PEM files and says to run `deno task certs` when missing", async () => {
  await withTempDir(async (dir) => {
    const certFile = join(dir, "server.pem");
    const keyFile = join(dir, "server.key");
    await assert.rejects(loadTlsFiles({ certFile, keyFile }), (error) => {
      assert.ok(error instanceof TlsFileError);
      assert.ok(error.message.includes(certFile));
      assert.match(error.message, /run `deno task certs`/);
      return true;
    });
    await Deno.writeTextFile(certFile, CERT);
    await Deno.writeTextFile(keyFile, "not a key");
    await assert.rejects(loadTlsFiles({ certFile, keyFile }), /is not a PEM private key/);
    await Deno.writeTextFile(keyFile, KEY);
    assert.deepEqual(await loadTlsFiles({ certFile, keyFile }), { cert: CERT, key: KEY });
  });
});

Deno.test("httpsClient needs a readable CA certificate", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(httpsClient(join(dir, "missing.pem")), TlsFileError);
    await Deno.writeTextFile(join(dir, "key.pem"), KEY);
    await assert.rejects(readPem(join(dir, "key.pem"), "CERTIFICATE"), /not a PEM certificate/);
  });
});

Deno.test("isLoopbackHost: only localhost, 127/8 and ::1 are loopback; wildcards and LAN addresses are not", () => {
  for (const host of ["localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]", "LOCALHOST"]) {
    assert.equal(isLoopbackHost(host), true, host);
  }
  for (const host of ["0.0.0.0", "::", "192.168.1.10", "10.77.0.1", "127.0.0.256", "pc1.lan"]) {
    assert.equal(isLoopbackHost(host), false, host);
  }
});
