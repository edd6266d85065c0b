/**
 * Request bodies read with a cap, for every Hono app that parses a body (the Registry, Central,
 * the weather office, the local supervisor): a declared Content-Length over the cap is refused
 * unread, and the body is read as it streams in and cut off once it passes the limit,
 * so neither a false Content-Length nor a chunked body without one can fill memory. An HTTP
 * client reads an answer's body with the same cap (the weather office's).
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { concatBytes } from "./encoding.ts";

/**
 * The body of a request (or a response) as text, read as it streams in; undefined once it passes
 * `limit` bytes (the rest is never read).
 */
export async function readBodyAtMost(
  message: Request | Response,
  limit: number,
): Promise<string | undefined> {
  if (message.body === null) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = message.body.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    size += read.value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(read.value);
  }
  return new TextDecoder().decode(concatBytes(chunks));
}

/**
 * A middleware that refuses a declared Content-Length over `limit` unread, else reads the body at
 * most `limit` bytes and leaves it in hono's body cache,
 * where the route's validator finds it; a longer body gets `tooLarge`'s answer. (hono's own
 * bodyLimit would copy the request to re-read it, which makes Deno.serve print a warning about
 * request.signal on every POST.) With `emptyAs`, an empty body that declares a content type is read
 * as that text instead (e.g. `"{}"` where a JSON body is optional, so a client that sends a JSON
 * content type and no body is not refused). An empty body without a content type stays empty: it
 * is no body at all, and a validator must not see one (hono's zod-openapi would answer 415).
 */
export function bufferBody(
  limit: number,
  tooLarge: (c: Context) => Response | Promise<Response>,
  options: { readonly emptyAs?: string } = {},
): MiddlewareHandler {
  return async (c, next) => {
    const declared = Number(c.req.header("content-length") ?? "0");
    if (!(declared <= limit)) return await tooLarge(c);
    const text = await readBodyAtMost(c.req.raw, limit);
    if (text === undefined) return await tooLarge(c);
    // hono keeps body promises in this cache (its type says plain values); json() reads `text`.
    const typed = c.req.header("content-type") !== undefined;
    const read = text === "" && typed ? options.emptyAs ?? text : text;
    (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve(read);
    return await next();
  };
}
