import assert from "node:assert/strict";
import { escapeHtml, renderDocsHtml } from "./openapi_docs.ts";

Deno.test("escapeHtml escapes markup and quotes", () => {
  assert.equal(
    escapeHtml(`<a href="x">'&'</a>`),
    "&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;",
  );
});

Deno.test("renderDocsHtml lists operations, parameters, bodies, responses and schemas", () => {
  const html = renderDocsHtml({
    info: { title: "T <x>", version: "1" },
    paths: {
      "/cp/{id}": {
        get: {
          summary: "One CP",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
          responses: {
            "200": {
              description: "ok",
              content: { "application/json": { schema: { $ref: "#/components/schemas/Cp" } } },
            },
          },
        },
        put: {
          security: [{ adminKey: [] }],
          requestBody: { content: { "application/json": { schema: { type: "object" } } } },
        },
      },
    },
    components: {
      schemas: { Cp: { type: "object", properties: { cp_id: { type: "string" } } } },
      securitySchemes: { adminKey: { type: "apiKey", in: "header", name: "X-Admin-Key" } },
    },
  });
  assert.ok(html.startsWith("<!doctype html>"));
  assert.ok(html.includes("T &#60;x&#62; 1"), "title escaped");
  assert.ok(html.includes(`<a href="#schema-Cp">Cp</a>`));
  assert.ok(html.includes(`id="schema-Cp"`));
  assert.ok(html.includes("Needs the admin key (header <code>X-Admin-Key</code>)"));
  assert.ok(html.includes("<code>id</code>"));
  assert.ok(html.includes("PUT"));
});

Deno.test("renderDocsHtml names a bearer scheme by its name and header", () => {
  const html = renderDocsHtml({
    info: { title: "Central", version: "1" },
    paths: { "/cps/stop": { post: { security: [{ adminToken: [] }] } } },
    components: { securitySchemes: { adminToken: { type: "http", scheme: "bearer" } } },
  });
  assert.ok(html.includes("Needs the admin token (header <code>Authorization: Bearer …</code>)"));
});
