import assert from "node:assert/strict";
import { Hono } from "hono";
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { bufferBody, readBodyAtMost } from "./http_body.ts";

/** A streamed body of `chunks` chunks of `size` bytes, counting what was pulled. */
function streamed(chunks: number, size: number) {
  const seen = { pulled: 0 };
  let left = chunks;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (left-- === 0) return controller.close();
      seen.pulled += size;
      controller.enqueue(new Uint8Array(size).fill(0x61));
    },
  });
  return { request: new Request("http://x/", { method: "POST", body }), seen };
}

Deno.test("readBodyAtMost reads a body up to the limit as text", async () => {
  const { request } = streamed(3, 10);
  assert.equal(await readBodyAtMost(request, 30), "a".repeat(30));
  assert.equal(await readBodyAtMost(new Request("http://x/"), 30), "");
});

Deno.test("readBodyAtMost stops reading once the body passes the limit", async () => {
  const { request, seen } = streamed(1000, 1024);
  assert.equal(await readBodyAtMost(request, 4096), undefined);
  assert.ok(seen.pulled <= 4096 + 2 * 1024, `pulled ${seen.pulled} bytes`);
});

Deno.test("bufferBody hands a capped body to the route and refuses a longer one", async () => {
  const app = new Hono();
  app.use("*", bufferBody(16, (c) => c.json({ error: "payload_too_large" }, 413)));
  app.post("/", async (c) => c.json(await c.req.json()));
  const ok = await app.request("/", { method: "POST", body: '{"a":1}' });
  assert.deepEqual(await ok.json(), { a: 1 });
  const big = await app.request("/", {
    method: "POST",
    body: JSON.stringify({ a: "x".repeat(20) }),
  });
  assert.equal(big.status, 413);
});

Deno.test("bufferBody refuses a declared Content-Length over the cap without reading the body", async () => {
  const app = new Hono();
  app.use("*", bufferBody(16, (c) => c.json({ error: "payload_too_large" }, 413)));
  app.post("/", (c) => c.text("read"));
  const seen = { pulled: 0 };
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      seen.pulled += 8;
      controller.enqueue(new Uint8Array(8));
      controller.close();
    },
  }, { highWaterMark: 0 });
  const res = await app.request(
    new Request("http://x/", { method: "POST", body, headers: { "content-length": "1000000" } }),
  );
  assert.equal(res.status, 413);
  assert.equal(seen.pulled, 0, "nothing read");
});

Deno.test("bufferBody's emptyAs: an empty typed body reads as it, an untyped one stays no body", async () => {
  const app = new Hono();
  app.use(
    "*",
    bufferBody(16, (c) => c.json({ error: "payload_too_large" }, 413), { emptyAs: "{}" }),
  );
  app.post("/", async (c) => c.json({ text: await c.req.text() }));
  const typed = await app.request("/", {
    method: "POST",
    headers: { "content-type": "application/json" },
  });
  assert.deepEqual(await typed.json(), { text: "{}" });
  const bare = await app.request("/", { method: "POST" });
  assert.deepEqual(await bare.json(), { text: "" });
});

Deno.test("bufferBody's emptyAs: an optional JSON body may be absent from a real client's empty POST", async () => {
  // fetch sends `content-length: 0` and an empty body stream, with no content type.
  const app = new OpenAPIHono();
  app.use(
    "*",
    bufferBody(16, (c) => c.json({ error: "payload_too_large" }, 413), { emptyAs: "{}" }),
  );
  const route = createRoute({
    method: "post",
    path: "/act",
    request: {
      body: {
        required: false,
        content: { "application/json": { schema: z.object({ reason: z.string().optional() }) } },
      },
    },
    responses: { 200: { description: "done" } },
  });
  app.openapi(route, (c) => c.json(c.req.valid("json"), 200));
  const empty = await app.request("/act", { method: "POST", body: new Uint8Array(0) });
  assert.equal(empty.status, 200, await empty.clone().text());
  assert.deepEqual(await empty.json(), {});
  const typedEmpty = await app.request("/act", {
    method: "POST",
    body: new Uint8Array(0),
    headers: { "content-type": "application/json" },
  });
  assert.deepEqual(await typedEmpty.json(), {});
  const given = await app.request("/act", {
    method: "POST",
    body: '{"reason":"x"}',
    headers: { "content-type": "application/json" },
  });
  assert.deepEqual(await given.json(), { reason: "x" });
});
