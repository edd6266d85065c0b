/**
 * The Registry app refuses bad input with a 4xx in the error shape, naming the field, and keeps
 * serving: malformed ids, fields and bodies, unknown fields, and bodies over the size cap.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createRegistryApp, MAX_BODY_BYTES } from "./app.ts";
import { ADMIN, ECDH, expectError, FAST, type Harness, withHarness } from "./test_support.ts";

/** One bad request: what it is, how to send it, the status and what the detail must say. */
type BadInput = [name: string, send: () => Promise<Response>, status: number, detail: RegExp];

/** How the cases send: a registration (with the admin key), an authentication, or any call. */
interface Senders {
  readonly register: (body: unknown) => Promise<Response>;
  readonly auth: (body: unknown) => Promise<Response>;
  readonly call: Harness["call"];
  /** The credentials of `CP-OK`, registered before the cases. */
  readonly existing: string;
}

/** Ids that are too short or long, hold other characters, SQL or a path, or are no string. */
function idCases({ register, auth }: Senders): BadInput[] {
  return [
    ["id too short", () => register({ cp_id: "ab", location: "x" }), 400, /^cp_id: /],
    ["id too long", () => register({ cp_id: "a".repeat(65), location: "x" }), 400, /^cp_id: /],
    ["id with space", () => register({ cp_id: "CP 1", location: "x" }), 400, /^cp_id: /],
    ["id with unicode", () => register({ cp_id: "CP-ñ", location: "x" }), 400, /^cp_id: /],
    ["id path traversal", () => register({ cp_id: "../etc", location: "x" }), 400, /^cp_id: /],
    [
      "SQL in id",
      () => register({ cp_id: "x'; DROP TABLE charging_points;--", location: "x" }),
      400,
      /^cp_id: /,
    ],
    [
      "SQL in auth id",
      () => auth({ cp_id: "' OR '1'='1", credentials: "x", ecdh_public_key: ECDH }),
      400,
      /^cp_id: /,
    ],
    ["id as number", () => register({ cp_id: 12345, location: "x" }), 400, /^cp_id: /],
  ];
}

/** Fields of the wrong type or out of range: location, price, power, metadata. */
function fieldCases({ register }: Senders): BadInput[] {
  return [
    [
      "location as array",
      () => register({ cp_id: "CP-1A", location: ["x"] }),
      400,
      /^location: /,
    ],
    ["empty location", () => register({ cp_id: "CP-1A", location: "" }), 400, /^location: /],
    [
      "control chars in location",
      () => register({ cp_id: "CP-1A", location: "a\u0000b" }),
      400,
      /^location: /,
    ],
    [
      "price as string",
      () => register({ cp_id: "CP-1A", location: "x", price_eur_kwh: "0.3" }),
      400,
      /^price_eur_kwh: /,
    ],
    [
      "negative power",
      () => register({ cp_id: "CP-1A", location: "x", power_kw: -1 }),
      400,
      /^power_kw: /,
    ],
    [
      "metadata as array",
      () => register({ cp_id: "CP-1A", location: "x", metadata: [1] }),
      400,
      /^metadata: /,
    ],
    [
      "nested metadata",
      () => register({ cp_id: "CP-1A", location: "x", metadata: { a: { b: 1 } } }),
      400,
      /^metadata\.a: /,
    ],
  ];
}

/** Required fields left out. */
function missingFieldCases({ register, auth }: Senders): BadInput[] {
  return [
    ["missing cp_id", () => register({ location: "x" }), 400, /^cp_id: missing/],
    ["missing location", () => register({ cp_id: "CP-1A" }), 400, /^location: missing/],
    [
      "missing credentials",
      () => auth({ cp_id: "CP-OK", ecdh_public_key: ECDH }),
      400,
      /^credentials: missing/,
    ],
    [
      "missing ECDH key",
      () => auth({ cp_id: "CP-OK", credentials: "x" }),
      400,
      /^ecdh_public_key: missing/,
    ],
  ];
}

/** ECDH keys that are not a public key on the curve. */
function ecdhKeyCases({ auth }: Senders): BadInput[] {
  return [
    [
      "ECDH key off the curve",
      () => auth({ cp_id: "CP-OK", credentials: "x", ecdh_public_key: { ...ECDH, y: ECDH.x } }),
      400,
      /^ecdh_public_key: .*curve/,
    ],
    [
      "ECDH private key sent",
      () => auth({ cp_id: "CP-OK", credentials: "x", ecdh_public_key: { ...ECDH, d: ECDH.x } }),
      400,
      /^ecdh_public_key: /,
    ],
  ];
}

/** Fields the endpoint does not take, credentials at registration among them. */
function unknownFieldCases({ register, auth, existing }: Senders): BadInput[] {
  return [
    [
      "unknown field",
      () => register({ cp_id: "CP-1A", location: "x", status: "REGISTERED" }),
      400,
      /unknown field status/,
    ],
    [
      "credentials at register",
      () => register({ cp_id: "CP-1A", location: "x", credentials: "mine" }),
      400,
      /unknown field credentials/,
    ],
    [
      "unknown auth field",
      () => auth({ cp_id: "CP-OK", credentials: existing, ecdh_public_key: ECDH, admin: true }),
      400,
      /unknown field admin/,
    ],
  ];
}

/** Bodies that are no JSON object, no JSON, or not JSON at all. */
function bodyCases({ register, auth, call }: Senders): BadInput[] {
  return [
    ["body is an array", () => register([{ cp_id: "CP-1A", location: "x" }]), 400, /^body: /],
    ["body is a string", () => register("CP-1A"), 400, /^body: /],
    ["body is null", () => auth(null), 400, /^body: /],
    [
      "invalid JSON",
      () => call("POST", "/cp/register", { raw: '{"cp_id": ', admin: ADMIN }),
      400,
      /not valid JSON/,
    ],
    [
      "invalid JSON on auth",
      () => call("POST", "/cp/authenticate", { raw: "cp_id=CP-OK" }),
      400,
      /not valid JSON/,
    ],
    [
      "empty JSON body",
      () => call("POST", "/cp/authenticate", { raw: "" }),
      400,
      /not valid JSON/,
    ],
    [
      "form body",
      () =>
        call("POST", "/cp/authenticate", {
          raw: "cp_id=x",
          headers: { "content-type": "text/plain" },
        }),
      415,
      /application\/json/,
    ],
  ];
}

/** Bodies and fields over their size. */
function sizeCases({ auth, call }: Senders): BadInput[] {
  return [
    [
      "1 MiB body",
      () => call("POST", "/cp/register", { raw: "x".repeat(1024 * 1024), admin: ADMIN }),
      413,
      /bytes/,
    ],
    [
      "1 MiB of valid JSON",
      () => auth({ cp_id: "CP-OK", credentials: "c".repeat(1024 * 1024), ecdh_public_key: ECDH }),
      413,
      /bytes/,
    ],
    [
      "long credentials",
      () => auth({ cp_id: "CP-OK", credentials: "c".repeat(257), ecdh_public_key: ECDH }),
      400,
      /^credentials: /,
    ],
  ];
}

/** Sends each case: its status, the error shape, and a detail that names the field. */
async function expectRefused(cases: readonly BadInput[]): Promise<void> {
  for (const [name, send, status, detail] of cases) {
    const body = await expectError(await send(), status);
    assert.match(body.detail, detail, `${name}: ${body.detail}`);
  }
}

/** After the bad input: nothing was written, and the Registry still serves the good CP. */
async function stillServing(h: Harness, existing: string): Promise<void> {
  assert.equal(h.store.list({ limit: 100, offset: 0 }).total, 1);
  const health = await h.call("GET", "/");
  assert.equal(health.status, 200);
  await health.body?.cancel();
  const ok = await h.call("POST", "/cp/authenticate", {
    body: { cp_id: "CP-OK", credentials: existing, ecdh_public_key: ECDH },
  });
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
}

Deno.test("bad input gets a 4xx with the error shape, naming the field; the server keeps serving", async (t) => {
  await withHarness(async (h) => {
    const existing = await h.register("CP-OK");
    const send: Senders = {
      register: (body) => h.call("POST", "/cp/register", { body, admin: ADMIN }),
      auth: (body) => h.call("POST", "/cp/authenticate", { body }),
      call: h.call,
      existing,
    };
    await t.step("ids", () => expectRefused(idCases(send)));
    await t.step("fields", () => expectRefused(fieldCases(send)));
    await t.step("missing fields", () => expectRefused(missingFieldCases(send)));
    await t.step("ECDH keys", () => expectRefused(ecdhKeyCases(send)));
    await t.step("unknown fields", () => expectRefused(unknownFieldCases(send)));
    await t.step("bodies", () => expectRefused(bodyCases(send)));
    await t.step("sizes", () => expectRefused(sizeCases(send)));
    await t.step("nothing was written, nothing broke", () => stillServing(h, existing));
  });
});

Deno.test("bodies over 64 KiB are refused with 413 before parsing, even without Content-Length", async () => {
  await withHarness(async (h) => {
    let pulled = 0;
    const chunk = new TextEncoder().encode(" ".repeat(16 * 1024));
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += chunk.length;
        if (pulled > 10 * 1024 * 1024) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const app = createRegistryApp({
      store: h.store,
      signingKey: h.key,
      adminKey: ADMIN,
      scrypt: FAST,
    });
    const res = await app.request(
      new Request("http://registry/cp/authenticate", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: stream,
      }),
    );
    await expectError(res, 413, "payload_too_large");
    assert.ok(pulled <= MAX_BODY_BYTES + 2 * chunk.length, `read ${pulled} bytes`);
    await stream.cancel().catch(() => {});
    const exact = await h.call("POST", "/cp/authenticate", { raw: " ".repeat(MAX_BODY_BYTES) });
    await expectError(exact, 400, "invalid_json"); // at the limit: parsed (and refused as JSON)
  });
});
