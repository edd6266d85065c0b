/**
 * The human docs page at `/docs` of the Registry and of Central: the OpenAPI document rendered
 * to plain HTML on the server, so it works with no internet (no CDN, no script): the rendering
 * is pure (document in, HTML string out); {@link addDocsRoutes} serves it with the document.
 *
 * @module
 */

/** The parts of an OpenAPI 3 document this page reads. */
export interface OpenApiLike {
  /** Title, version, description. */
  readonly info: { title: string; version: string; description?: string };
  /** Paths → methods → operations. */
  readonly paths?: { readonly [path: string]: object | undefined };
  /** Named schemas and security schemes. */
  readonly components?: {
    schemas?: Record<string, unknown>;
    securitySchemes?: Record<string, unknown>;
  };
}

/** What the page says an operation needs, from its security scheme. */
function authNote(name: string, scheme: unknown): string {
  const s = scheme as { type?: string; in?: string; name?: string; scheme?: string } | undefined;
  if (s?.type === "apiKey" && s.in === "header" && s.name) {
    return `Needs the ${words(name)} (header <code>${escapeHtml(s.name)}</code>).`;
  }
  if (s?.type === "http" && s.scheme === "bearer") {
    return `Needs the ${words(name)} (header <code>Authorization: Bearer …</code>).`;
  }
  return `Needs the ${words(name)}.`;
}

/** `adminKey` → `admin key`, escaped. */
function words(camel: string): string {
  return escapeHtml(camel.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase());
}

interface Operation {
  summary?: string;
  description?: string;
  security?: Record<string, unknown>[];
  parameters?: {
    name: string;
    in: string;
    required?: boolean;
    schema?: unknown;
    description?: string;
  }[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<
    string,
    { description?: string; content?: Record<string, { schema?: unknown }> }
  >;
}

const METHODS = ["get", "post", "put", "patch", "delete"];

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function schemaHtml(schema: unknown): string {
  if (schema === undefined) return "";
  const ref = (schema as { $ref?: string }).$ref;
  if (typeof ref === "string") {
    const name = ref.split("/").pop() ?? ref;
    return `<a href="#schema-${escapeHtml(name)}">${escapeHtml(name)}</a>`;
  }
  return `<pre>${escapeHtml(JSON.stringify(schema, null, 2))}</pre>`;
}

function operationHtml(
  path: string,
  method: string,
  op: Operation,
  schemes: Record<string, unknown>,
): string {
  const id = `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, "-");
  const parts = [
    `<section id="${escapeHtml(id)}"><h3><span class="m">${method.toUpperCase()}</span> <code>${
      escapeHtml(path)
    }</code></h3>`,
  ];
  if (op.summary) parts.push(`<p><strong>${escapeHtml(op.summary)}</strong></p>`);
  if (op.description) parts.push(`<p>${escapeHtml(op.description)}</p>`);
  for (const name of new Set(op.security?.flatMap((s) => Object.keys(s)) ?? [])) {
    parts.push(`<p class="auth">${authNote(name, schemes[name])}</p>`);
  }
  if (op.parameters?.length) {
    const rows = op.parameters.map((p) =>
      `<tr><td><code>${escapeHtml(p.name)}</code></td><td>${escapeHtml(p.in)}</td><td>${
        p.required ? "yes" : "no"
      }</td><td>${schemaHtml(p.schema)}</td></tr>`
    ).join("");
    parts.push(
      `<table><tr><th>parameter</th><th>in</th><th>required</th><th>schema</th></tr>${rows}</table>`,
    );
  }
  for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) {
    parts.push(
      `<p>Request body (<code>${escapeHtml(type)}</code>): ${schemaHtml(media.schema)}</p>`,
    );
  }
  const responses = Object.entries(op.responses ?? {}).map(([status, r]) => {
    const body = Object.values(r.content ?? {})[0]?.schema;
    return `<li><code>${escapeHtml(status)}</code> ${escapeHtml(r.description ?? "")} ${
      schemaHtml(body)
    }</li>`;
  }).join("");
  parts.push(`<p>Responses:</p><ul>${responses}</ul></section>`);
  return parts.join("\n");
}

/** Renders `doc` as a complete, self-contained HTML page. */
export function renderDocsHtml(doc: OpenApiLike): string {
  const operations: string[] = [];
  const index: string[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = (item as Record<string, unknown> | undefined)?.[method] as Operation | undefined;
      if (!op) continue;
      const id = `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, "-");
      index.push(
        `<li><a href="#${escapeHtml(id)}">${method.toUpperCase()} ${escapeHtml(path)}</a> ${
          escapeHtml(op.summary ?? "")
        }</li>`,
      );
      operations.push(operationHtml(path, method, op, doc.components?.securitySchemes ?? {}));
    }
  }
  const schemas = Object.entries(doc.components?.schemas ?? {}).map(([name, schema]) =>
    `<section id="schema-${escapeHtml(name)}"><h3>${escapeHtml(name)}</h3><pre>${
      escapeHtml(JSON.stringify(schema, null, 2))
    }</pre></section>`
  );
  const title = escapeHtml(`${doc.info.title} ${doc.info.version}`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45}
pre{background:#f4f4f4;padding:.6rem;overflow:auto}code{background:#f4f4f4}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem;vertical-align:top}
.m{font-family:monospace;background:#234;color:#fff;padding:0 .4rem}.auth{color:#a40}
section{border-top:1px solid #ddd;margin-top:1.2rem}
</style></head><body>
<h1>${title}</h1>
<p>${escapeHtml(doc.info.description ?? "")}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a>. Errors are always
<code>{error, detail, timestamp}</code>.</p>
<h2>Endpoints</h2><ul>${index.join("")}</ul>
${operations.join("\n")}
<h2>Schemas</h2>
${schemas.join("\n")}
</body></html>
`;
}

/** The routes {@link addDocsRoutes} adds to: an OpenAPI app of `@hono/zod-openapi`. */
interface DocumentedApp {
  doc(path: string, config: { openapi: string; info: OpenApiLike["info"] }): unknown;
  getOpenAPIDocument(config: { openapi: string; info: OpenApiLike["info"] }): OpenApiLike;
  get(path: string, handler: (c: { html(body: string): Response }) => Response): unknown;
}

/**
 * Serves the app's OpenAPI 3.0.3 document at `GET /openapi.json` and this page at `GET /docs`,
 * rendered once, at its first request (every route is registered by then).
 */
export function addDocsRoutes(app: DocumentedApp, info: OpenApiLike["info"]): void {
  const documentConfig = { openapi: "3.0.3", info };
  app.doc("/openapi.json", documentConfig);
  let docsPage: string | undefined;
  app.get("/docs", (c) => {
    docsPage ??= renderDocsHtml(app.getOpenAPIDocument(documentConfig));
    return c.html(docsPage);
  });
}
