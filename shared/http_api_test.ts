import assert from "node:assert/strict";
import { WrongSecretThrottle } from "./rate_limit.ts";
import type { Logger } from "./log.ts";
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import {
  type BearerCheck,
  bearerToken,
  describeIssues,
  problemResponder,
  requestLog,
  requireBearer,
  secretsEqual,
  validationHook,
} from "./http_api.ts";

const at = new Date("2026-01-02T03:04:05.000Z");

Deno.test("secretsEqual compares any lengths", async () => {
  assert.equal(await secretsEqual("admin-key-0123456789", "admin-key-0123456789"), true);
  assert.equal(await secretsEqual("admin-key-0123456789", "admin-key-012345678"), false);
  assert.equal(await secretsEqual("", "x"), false);
  assert.equal(await secretsEqual("abc", "abd"), false);
});

Deno.test("bearerToken takes the token of a Bearer header, any case, and nothing else", () => {
  assert.equal(bearerToken("Bearer abc.def"), "abc.def");
  assert.equal(bearerToken("bearer   abc  "), "abc");
  assert.equal(bearerToken("Basic abc"), undefined);
  assert.equal(bearerToken("Bearer a b"), undefined);
  assert.equal(bearerToken(undefined), undefined);
});

Deno.test("describeIssues names each field, tells missing from wrong, and unknown fields", () => {
  const schema = z.strictObject({ cp_id: z.string(), price: z.number() });
  const input = { price: "x", extra: 1 };
  const result = schema.safeParse(input);
  assert.ok(!result.success);
  const text = describeIssues(result.error, "json", input);
  assert.match(text, /cp_id: missing; /);
  assert.match(text, /price: /);
  assert.match(text, /unknown field extra/);
  assert.ok(!text.includes("price: missing"));

  const whole = z.string().safeParse(3);
  assert.ok(!whole.success);
  assert.match(describeIssues(whole.error, "json"), /^body: /, "the whole body is named");
});

Deno.test("problemResponder and validationHook answer {error, detail, timestamp}", async () => {
  const problem = problemResponder(() => at);
  const app = new OpenAPIHono({ defaultHook: validationHook(problem) });
  app.get("/teapot", (c) => problem(c, 418, "teapot", "short and stout", { "X-A": "b" }));
  const route = createRoute({
    method: "get",
    path: "/items",
    request: { query: z.object({ limit: z.coerce.number().int().max(10) }) },
    responses: { 200: { description: "ok" } },
  });
  app.openapi(route, (c) => c.text("fine"));
  const res = await app.request("/teapot");
  assert.equal(res.status, 418);
  assert.equal(res.headers.get("x-a"), "b");
  assert.deepEqual(await res.json(), {
    error: "teapot",
    detail: "short and stout",
    timestamp: at.toISOString(),
  });

  const bad = await app.request("/items?limit=99");
  assert.equal(bad.status, 400);
  const body = await bad.json();
  assert.equal(body.error, "validation_failed");
  assert.match(body.detail, /^limit: /);
  assert.equal(
    (await app.request("/items?limit=3")).status,
    200,
    "valid input reaches the handler",
  );
});

/**
 * An app whose every route `requireBearer` guards (realm `test`, the answers `key_required` and
 * `key_wrong`) with `check`'s secret and throttle, answering `in` at `/`; and the refusals.
 */
function guarded(check: Pick<BearerCheck, "secret" | "throttle">) {
  const refused: string[] = [];
  const app = new OpenAPIHono();
  app.use(
    "*",
    requireBearer({
      ...check,
      realm: "test",
      problem: problemResponder(() => at),
      missing: { error: "key_required", detail: "send the key" },
      wrong: { error: "key_wrong", detail: "the key is wrong" },
      onRefused: (_c, reason) => refused.push(reason),
    }),
  );
  app.get("/", (c) => c.text("in"));
  return { app, refused };
}

Deno.test("requireBearer passes the right secret and answers 401 with a challenge otherwise", async () => {
  const { app, refused } = guarded({ secret: "the-secret-0123456789" });
  const call = (authorization?: string) =>
    app.request("/", { headers: authorization ? { authorization } : {} });

  const ok = await call("Bearer the-secret-0123456789");
  assert.equal(await ok.text(), "in");
  const missing = await call();
  assert.equal(missing.status, 401);
  assert.equal(missing.headers.get("www-authenticate"), 'Bearer realm="test"');
  assert.deepEqual(await missing.json(), {
    error: "key_required",
    detail: "send the key",
    timestamp: at.toISOString(),
  });
  const wrong = await call("Bearer the-secret-012345678");
  assert.equal(wrong.status, 401);
  const body = await wrong.text();
  assert.equal(JSON.parse(body).error, "key_wrong");
  assert.ok(!body.includes("the-secret"), "the answer never holds the secret");
  assert.deepEqual(refused, ["missing_bearer", "wrong_bearer"]);
});

Deno.test("requireBearer refuses to guard with an empty secret", () => {
  const problem = problemResponder(() => at);
  const refusal = { error: "e", detail: "d" };
  assert.throws(
    () => requireBearer({ secret: "", realm: "r", problem, missing: refusal, wrong: refusal }),
    RangeError,
  );
});

Deno.test("requireBearer with a throttle: 429 + Retry-After per address past the limit; the right bearer always passes", async () => {
  let t = 0;
  const { app, refused } = guarded({
    secret: "the-secret-0123456789-0123456789",
    throttle: new WrongSecretThrottle({ limit: 2, windowMs: 60_000, now: () => t }),
  });
  const call = (ip: string, authorization?: string) =>
    app.request("/", { headers: authorization ? { authorization } : {} }, {
      remoteAddr: { transport: "tcp", hostname: ip, port: 1 },
    });
  assert.equal((await call("10.0.0.1", "Bearer nope")).status, 401);
  assert.equal((await call("10.0.0.1")).status, 401, "a missing bearer counts too");
  const throttled = await call("10.0.0.1", "Bearer nope");
  assert.equal(throttled.status, 429);
  assert.equal(throttled.headers.get("retry-after"), "60");
  assert.equal((await throttled.json()).error, "too_many_attempts");
  assert.equal((await call("10.0.0.2", "Bearer nope")).status, 401, "other addresses: 401");
  const right = "Bearer the-secret-0123456789-0123456789";
  assert.equal(await (await call("10.0.0.2", right)).text(), "in");
  assert.equal(await (await call("10.0.0.1", right)).text(), "in", "never a lockout");
  t += 60_001;
  assert.equal((await call("10.0.0.1", "Bearer nope")).status, 401, "the window slides");
  assert.deepEqual(refused, [
    "wrong_bearer",
    "missing_bearer",
    "throttled",
    "wrong_bearer",
    "wrong_bearer",
  ]);
});

Deno.test("requestLog: refused requests at info, answered ones at debug, each once it is answered", async () => {
  const lines: [string, string, unknown][] = [];
  const record = (level: string) => (message: string, properties: unknown) =>
    void lines.push([level, message, properties]);
  const log = { info: record("info"), debug: record("debug") } as unknown as Logger;
  const app = new OpenAPIHono();
  app.use("*", requestLog(log));
  app.get("/ok", (c) => c.text("fine"));
  await app.request("/ok");
  await app.request("/missing");
  assert.deepEqual(lines, [
    ["debug", "{method} {path} {status}", { method: "GET", path: "/ok", status: 200 }],
    ["info", "{method} {path} {status}", { method: "GET", path: "/missing", status: 404 }],
  ]);
});

Deno.test("requestLog: timed, with the client's address, as the Registry logs", async () => {
  const lines: [string, unknown][] = [];
  const log = { debug: (m: string, p: unknown) => void lines.push([m, p]) } as unknown as Logger;
  const app = new OpenAPIHono();
  app.use("*", requestLog(log, { timed: true, ip: () => "192.0.2.7" }));
  app.get("/ok", (c) => c.text("fine"));
  await app.request("/ok");
  assert.equal(lines.length, 1);
  const [message, properties] = lines[0];
  assert.equal(message, "{method} {path} {status} in {ms} ms");
  const { ms, ...rest } = properties as { ms: number };
  assert.ok(Number.isInteger(ms) && ms >= 0);
  assert.deepEqual(rest, { method: "GET", path: "/ok", status: 200, ip: "192.0.2.7" });
});
