import "reflect-metadata";
import assert from "node:assert/strict";
import { join } from "node:path";
import * as x509 from "@peculiar/x509";
import {
  BadHostError,
  certPaths,
  CertsExistError,
  createDevCa,
  createDevCertificates,
  createServerCert,
  sanEntries,
  writeDevCertificates,
} from "./dev_ca.ts";
import { withTempDir } from "../shared/temp_dir.ts";

Deno.test("sanEntries: loopback defaults, IPs as IP SANs, names as DNS SANs, no duplicates", () => {
  assert.deepEqual(
    sanEntries(["registry.lan", "192.168.1.20", "[fe80::1]", "LOCALHOST", "127.0.0.1"]),
    [
      { type: "dns", value: "localhost" },
      { type: "ip", value: "127.0.0.1" },
      { type: "ip", value: "::1" },
      { type: "dns", value: "registry.lan" },
      { type: "ip", value: "192.168.1.20" },
      { type: "ip", value: "fe80::1" },
    ],
  );
  for (const bad of ["", "bad host", "a_b.example", "http://x", "-x.example"]) {
    assert.throws(() => sanEntries([bad]), BadHostError, bad);
  }
});

Deno.test("the CA is ECDSA P-256, CA:true, keyCertSign, self-signed", async () => {
  const ca = await createDevCa();
  const cert = new x509.X509Certificate(ca.cert);
  assert.equal((cert.publicKey.algorithm as EcKeyAlgorithm).namedCurve, "P-256");
  const basic = cert.getExtension(x509.BasicConstraintsExtension);
  assert.equal(basic?.ca, true);
  assert.equal(basic?.critical, true);
  const usage = cert.getExtension(x509.KeyUsagesExtension);
  assert.ok(usage && (usage.usages & x509.KeyUsageFlags.keyCertSign));
  assert.ok(await cert.isSelfSigned());
  assert.match(ca.key, /^-----BEGIN PRIVATE KEY-----/);
});

Deno.test("the server certificate is signed by the CA, for serverAuth, with the SANs", async () => {
  const ca = await createDevCa();
  const server = new x509.X509Certificate(
    (await createServerCert(ca, { hosts: ["registry.lan", "10.0.0.7"] })).cert,
  );
  assert.ok(await server.verify({ publicKey: ca.certificate.publicKey, signatureOnly: true }));
  assert.equal(server.issuer, ca.certificate.subject);
  assert.equal(server.getExtension(x509.BasicConstraintsExtension)?.ca, false);
  assert.deepEqual([...server.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? []], [
    x509.ExtendedKeyUsage.serverAuth,
  ]);
  const names = server.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON();
  assert.deepEqual(names, [
    { type: "dns", value: "localhost" },
    { type: "ip", value: "127.0.0.1" },
    { type: "ip", value: "::1" },
    { type: "dns", value: "registry.lan" },
    { type: "ip", value: "10.0.0.7" },
  ]);
  assert.ok(server.notAfter.getTime() > Date.now() + 365 * 24 * 3600_000);
});

Deno.test("writeDevCertificates writes keys 0600 and never overwrites without force", async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, "certs");
    const first = await createDevCertificates();
    const written = await writeDevCertificates(out, first);
    const paths = certPaths(out);
    assert.deepEqual(written, [paths.caCert, paths.caKey, paths.cert, paths.key]);
    assert.equal((await Deno.stat(paths.caKey)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(paths.key)).mode! & 0o777, 0o600);
    assert.equal(await Deno.readTextFile(paths.caCert), first.ca.cert);

    const second = await createDevCertificates();
    await assert.rejects(writeDevCertificates(out, second), (error) => {
      assert.ok(error instanceof CertsExistError);
      assert.equal(error.existing.length, 4);
      assert.match(error.message, /--force/);
      return true;
    });
    assert.equal(await Deno.readTextFile(paths.caCert), first.ca.cert, "untouched");

    await Deno.chmod(paths.key, 0o644);
    await writeDevCertificates(out, second, { force: true });
    assert.equal(await Deno.readTextFile(paths.caCert), second.ca.cert);
    assert.equal((await Deno.stat(paths.key)).mode! & 0o777, 0o600, "tightened on overwrite");
  });
});

Deno.test("deno task certs CLI: writes, refuses a second run clearly, --force replaces", async () => {
  await withTempDir(async (dir) => {
    const run = async (...args: string[]) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-read",
          "--allow-write",
          new URL("./certs.ts", import.meta.url).pathname,
          ...args,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      return { code: out.code, text };
    };
    const out = join(dir, "c");
    const first = await run("--dir", out, "--host", "registry.lan", "--host", "10.1.2.3");
    assert.equal(first.code, 0, first.text);
    assert.match(first.text, /registry\.lan/);
    assert.match(first.text, /10\.1\.2\.3/);
    const again = await run("--dir", out);
    assert.equal(again.code, 1);
    assert.match(again.text, /not overwriting .*--force/);
    const forced = await run("--dir", out, "--force");
    assert.equal(forced.code, 0, forced.text);
    const bad = await run("--dir", join(dir, "d"), "--host", "not a host");
    assert.equal(bad.code, 1);
    assert.match(bad.text, /neither an IP address nor a DNS name/);
  });
});
