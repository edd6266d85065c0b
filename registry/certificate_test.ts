import assert from "node:assert/strict";
import { createDevCa, createServerCert } from "../infra/dev_ca.ts";
import { createRegistryApp } from "./app.ts";
import { certificateFingerprint, certificateProblem } from "./certificate.ts";
import type { ScryptParams } from "./credentials.ts";
import { RegistryStore } from "./store.ts";
import { generateSigningKey } from "./tokens.ts";

const ADMIN = "test-admin-key-0123456789";
const FAST: ScryptParams = { N: 1024, r: 8, p: 1 };
const ca = await createDevCa();
const server = await createServerCert(ca);
/** A real certificate (a development CA's), and its fingerprint by @peculiar/x509 itself. */
const PEM = ca.cert;
const THUMBPRINT = new Uint8Array(await ca.certificate.getThumbprint("SHA-256"));
const EXPECTED = Array.from(THUMBPRINT, (b) => b.toString(16).padStart(2, "0").toUpperCase())
  .join(":");
/** The base64 body of the PEM, which no answer or stored row may contain. */
const PEM_BODY = PEM.split("\n").filter((l) => l && !l.startsWith("-----")).join("");

async function withApp(test: (call: Call, store: RegistryStore) => Promise<void>): Promise<void> {
  const store = RegistryStore.open(":memory:");
  const { key } = await generateSigningKey();
  const app = createRegistryApp({ store, signingKey: key, adminKey: ADMIN, scrypt: FAST });
  const call: Call = (method, path, body) =>
    Promise.resolve(app.request(path, {
      method,
      headers: { "content-type": "application/json", "x-admin-key": ADMIN },
      body: body === undefined ? undefined : JSON.stringify(body),
    }));
  try {
    await test(call, store);
  } finally {
    store.close();
  }
}

type Call = (method: string, path: string, body?: unknown) => Promise<Response>;

Deno.test("certificateProblem: accepts a real PEM certificate, with CRLF lines too", () => {
  assert.equal(certificateProblem(PEM), undefined);
  assert.equal(certificateProblem(PEM.replaceAll("\n", "\r\n")), undefined);
});

Deno.test("certificateProblem: names what is wrong with bad input, never quoting it", () => {
  const cases = [
    "",
    "not a certificate",
    PEM.replace("CERTIFICATE", "PRIVATE KEY"),
    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    PEM + PEM,
    PEM.replace(/[A-Za-z0-9+/]{20}/, "!".repeat(20)),
    PEM.replace(/\n-----END/, "Zm9v\n-----END"),
    "x".repeat(20_000),
  ];
  for (const pem of cases) {
    const problem = certificateProblem(pem);
    assert.ok(problem !== undefined, `refused: ${pem.slice(0, 40)}`);
    assert.ok(!problem.includes("MII"), problem);
  }
});

Deno.test("certificateFingerprint: is the SHA-256 of the DER, as openssl prints it", () => {
  assert.equal(certificateFingerprint(PEM), EXPECTED);
  assert.match(EXPECTED, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  assert.notEqual(certificateFingerprint(server.cert), EXPECTED);
  assert.throws(() => certificateFingerprint("junk"), RangeError);
});

Deno.test("register: a certificate_pem is kept as its fingerprint, shown on GET, never echoed", async () => {
  await withApp(async (call, store) => {
    const res = await call("POST", "/cp/register", {
      cp_id: "CP-001",
      location: "Berlin",
      certificate_pem: PEM,
      metadata: { power_rating: "22kW", type: "AC" },
    });
    const text = await res.text();
    assert.equal(res.status, 201, text);
    assert.equal(JSON.parse(text).certificate_sha256, EXPECTED);
    assert.ok(!text.includes(PEM_BODY) && !text.includes("certificate_pem"), text);
    const got = await call("GET", "/cp/CP-001");
    const gotText = await got.text();
    assert.equal(JSON.parse(gotText).certificate_sha256, EXPECTED);
    assert.ok(!gotText.includes(PEM_BODY), gotText);
    const listed = await (await call("GET", "/cp")).text();
    assert.ok(listed.includes(EXPECTED) && !listed.includes(PEM_BODY));
    assert.equal(store.get("CP-001")?.certificateSha256, EXPECTED);
  });
});

Deno.test("register: without certificate_pem the fingerprint is null; registering again replaces it", async () => {
  await withApp(async (call) => {
    const plain = await call("POST", "/cp/register", { cp_id: "CP-002", location: "Madrid" });
    assert.equal(plain.status, 201);
    assert.equal((await plain.json()).certificate_sha256, null);
    assert.equal((await call("DELETE", "/cp/CP-002")).status, 200);
    const again = await call("POST", "/cp/register", {
      cp_id: "CP-002",
      location: "Madrid",
      certificate_pem: server.cert,
    });
    assert.equal(again.status, 201);
    assert.equal((await again.json()).certificate_sha256, certificateFingerprint(server.cert));
  });
});

Deno.test("register: a bad certificate_pem is a 400 naming the field, registers nothing, echoes nothing", async () => {
  await withApp(async (call, store) => {
    const broken = PEM.replace(/\n-----END/, "Zm9v\n-----END");
    for (const pem of ["hello", broken, PEM.replace("CERTIFICATE-----", "CERT-----"), 42]) {
      const res = await call("POST", "/cp/register", {
        cp_id: "CP-003",
        location: "Sevilla",
        certificate_pem: pem,
      });
      const body = await res.json();
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(body.error, "validation_failed");
      assert.match(body.detail, /^certificate_pem: /);
      assert.ok(!JSON.stringify(body).includes("MII"), body.detail);
    }
    assert.equal(store.get("CP-003"), undefined);
  });
});

Deno.test("the OpenAPI document describes certificate_pem and certificate_sha256", async () => {
  await withApp(async (call) => {
    const doc = await (await call("GET", "/openapi.json")).json();
    const schemas = doc.components.schemas;
    assert.equal(schemas.RegisterRequest.properties.certificate_pem.type, "string");
    assert.ok(!schemas.RegisterRequest.required.includes("certificate_pem"));
    assert.ok(schemas.Cp.properties.certificate_sha256);
    assert.ok(!("certificate_pem" in schemas.Cp.properties));
  });
});
