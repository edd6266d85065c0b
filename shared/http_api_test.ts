import assert from "node:assert/strict";
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import {
  bearerToken,
  describeIssues,
  problemResponder,
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
