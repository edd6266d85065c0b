/**
 * Small helpers both HTTP clients of the office (OpenWeather, Central) need to read answers
 * safely and to describe failures in one log line.
 *
 * @module
 */
import { readBodyAtMost } from "../shared/http_body.ts";

/** A body was larger than the caller's limit. */
export class BodyTooLarge extends Error {
  /** Always `"BodyTooLarge"`. */
  override name = "BodyTooLarge";
}

/**
 * The body as text, refusing more than `limit` bytes without reading further.
 * @throws {BodyTooLarge} past the limit; whatever fetch throws while reading (abort, timeout).
 */
export async function readLimited(response: Response, limit: number): Promise<string> {
  const text = await readBodyAtMost(response, limit);
  if (text === undefined) throw new BodyTooLarge(`body over ${limit} bytes`);
  return text;
}

/** `JSON.parse`, or `undefined` for text that is not JSON. */
export function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * A fetch error as one line: its message and its cause's, which says what went wrong
 * (`Connection refused`, `dns error`). Deno quotes the URL in the cause: a caller whose URL holds
 * a secret scrubs the result.
 */
export function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.message}${cause}`;
}

/** Control characters removed and cut to 200 characters: safe for one log line or a table cell. */
export function oneLine(text: string): string {
  // deno-lint-ignore no-control-regex -- stripping control characters is the point
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, " ").trim();
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}
