/**
 * Reading and writing messages: {@link parseMessage} (and {@link decodeMessage} on raw bytes)
 * never throws and gives one human-readable line naming the failing field, to NACK, DENY or drop
 * with; {@link build} stamps `v`/`type`/`ts` and refuses to produce an invalid message.
 *
 * @module
 */

import { z } from "zod";
import { MAX_JSON_BYTES, nowTs, SCHEMA_VERSION } from "./fields.ts";

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/** The result of {@link parseMessage}, {@link decodeJson} and {@link decodeMessage}. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * Validates `value` against `schema`. Never throws: on failure `reason` is one line naming the
 * first failing field and what it must be (`cpId: must be 3–64 characters of …`), or
 * `unknown message type "X" (expected …)` for a `type` the schema does not know. Reasons never
 * echo a field's value (it may be a secret), only a short escaped excerpt of an unknown type, an
 * unknown field's name or an unsupported version.
 */
export function parseMessage<S extends z.ZodType>(
  schema: S,
  value: unknown,
): ParseResult<z.output<S>> {
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, reason: describeIssue(result.error.issues[0], value) };
}

/**
 * Decodes JSON from UTF-8 bytes or a string, refusing more than `maxBytes` UTF-8 bytes. Never
 * throws; the reason says whether the input was too large, not UTF-8, or not JSON.
 * @throws {RangeError} only if `maxBytes` is not a positive integer (a caller's bug).
 */
export function decodeJson(
  input: Uint8Array | string,
  maxBytes: number = MAX_JSON_BYTES,
): ParseResult<unknown> {
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) {
    throw new RangeError(`decodeJson: maxBytes must be a positive integer, got ${maxBytes}`);
  }
  let text: string;
  if (typeof input === "string") {
    if (utf8Length(input, maxBytes) > maxBytes) {
      return { ok: false, reason: `message is over the ${maxBytes}-byte limit` };
    }
    text = input;
  } else {
    if (input.byteLength > maxBytes) {
      return {
        ok: false,
        reason: `message is ${input.byteLength} bytes, over the ${maxBytes}-byte limit`,
      };
    }
    try {
      text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(input);
    } catch {
      return { ok: false, reason: "message is not valid UTF-8" };
    }
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    // JSON.parse's own error quotes the input, which may hold a secret: keep it out.
    return { ok: false, reason: "message is not valid JSON" };
  }
}

/** {@link decodeJson} then {@link parseMessage}: raw bytes or text in, a typed message out. */
export function decodeMessage<S extends z.ZodType>(
  schema: S,
  input: Uint8Array | string,
  maxBytes: number = MAX_JSON_BYTES,
): ParseResult<z.output<S>> {
  const json = decodeJson(input, maxBytes);
  return json.ok ? parseMessage(schema, json.value) : json;
}

/** The UTF-8 length of `s`, or any number above `limit` once it is known to exceed it. */
function utf8Length(s: string, limit: number): number {
  if (s.length > limit) return s.length; // each UTF-16 unit is at least one UTF-8 byte
  if (s.length * 3 <= limit) return s.length; // each UTF-16 unit is at most three UTF-8 bytes
  return new TextEncoder().encode(s).byteLength;
}

/** One human line for a zod issue, prefixed with the field path. */
function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  if (issue.code === "invalid_union" && issue.inclusive !== false && issue.discriminator) {
    return describeUnknownType(issue.discriminator, issue.options ?? [], input);
  }
  const path = formatPath(issue.path);
  if (issue.code === "unrecognized_keys") {
    const [first, ...rest] = issue.keys.map((k) => formatPath([...issue.path, k]));
    return rest.length === 0
      ? `${first}: unknown field`
      : `unknown fields ${[first, ...rest].slice(0, 5).join(", ")}${rest.length > 4 ? ", …" : ""}`;
  }
  if (issue.code === "invalid_key") {
    return `${path}: field name ${issue.issues[0]?.message ?? "is not allowed"}`;
  }
  if (isMissing(input, issue.path)) {
    return `${path || "message"}: required`;
  }
  const message = issue.message.replace(/^Invalid input: /, "");
  if (path !== "") return `${path}: ${message}`;
  return issue.code === "invalid_type" && issue.expected === "object"
    ? `message must be a JSON object, got ${kindOf(input)}`
    : message;
}

/** The reason for a value whose discriminator matched no option of the union. */
function describeUnknownType(
  discriminator: string,
  options: readonly unknown[],
  input: unknown,
): string {
  const record = isRecord(input) ? input : {};
  if ("v" in record && record.v !== SCHEMA_VERSION) {
    return `v: unsupported schema version ${safeJson(record.v)}, expected ${SCHEMA_VERSION}`;
  }
  const expected = `expected ${options.map(String).join(", ")}`;
  if (!(discriminator in record)) return `${discriminator}: required (${expected})`;
  const type = record[discriminator];
  if (typeof type !== "string") {
    return `${discriminator}: must be a string naming the message type (${expected})`;
  }
  return `unknown message type ${safeJson(type)} (${expected})`;
}

/** `a.b[2]["odd key"]`: property names that are identifiers plain, others quoted. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(key)) {
      out += out === "" ? key : `.${key}`;
    } else out += `[${safeJson(String(key))}]`;
  }
  return out;
}

/** Whether the value at `path` inside `input` is absent (its parent lacks the key). */
function isMissing(input: unknown, path: readonly PropertyKey[]): boolean {
  if (path.length === 0) return input === undefined;
  let parent: unknown = input;
  for (const key of path.slice(0, -1)) {
    if (!isRecord(parent) && !Array.isArray(parent)) return false;
    parent = (parent as Record<PropertyKey, unknown>)[key];
  }
  const last = path[path.length - 1];
  return isRecord(parent) && (!Object.hasOwn(parent, last) || parent[last as string] === undefined);
}

/** Whether `value` is a non-array object. */
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `array`, `null` or the `typeof` of a value, for messages. */
function kindOf(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
}

/** A short, escaped JSON rendering of an untrusted value for a reason line. */
export function safeJson(value: unknown): string {
  if (typeof value === "string") {
    const cut = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    return JSON.stringify(cut).replace(/[\u007f-\u009f\u2028-\u202e\u2066-\u2069]/g, "?");
  }
  if (typeof value === "number" || typeof value === "boolean" || value === null) {
    return String(value);
  }
  return kindOf(value);
}

// ---------------------------------------------------------------------------------------------
// Building
// ---------------------------------------------------------------------------------------------

/** A union of strict message objects discriminated by `type`. */
type MessageUnion = z.ZodDiscriminatedUnion<readonly z.ZodObject[], "type">;
/** The member of union `S` whose `type` is `T`. */
type MessageOf<S extends MessageUnion, T> = Extract<z.output<S>, { type: T }>;
/** What a caller supplies to {@link build}: every field but `v` and `type`; `ts` is optional. */
export type MessageFields<M> =
  & Omit<M, "v" | "type" | "ts">
  & ("ts" extends keyof M ? { ts?: string } : unknown);

/**
 * Builds a message of `type` from `schema` (a channel union such as `driverUpdateSchema`):
 * stamps `v`, `type` and — for messages that carry one — `ts` (now, unless given), then validates
 * it, so no component can emit a message its receiver would reject.
 *
 * ```ts
 * build(driverUpdateSchema, "DENIED", { requestId, driverId, cpId, reason: "busy" });
 * ```
 * @throws {TypeError} naming the message type and the failing field if a field is invalid.
 */
export function build<S extends MessageUnion, const T extends z.output<S>["type"]>(
  schema: S,
  type: T,
  fields: MessageFields<MessageOf<S, T>>,
): MessageOf<S, T> {
  const option = schema.options.find((o) =>
    o.shape.type instanceof z.ZodLiteral && o.shape.type.values.has(type as string)
  );
  if (option === undefined) {
    throw new TypeError(`build: unknown message type ${safeJson(type)} for this schema`);
  }
  const given: { ts?: unknown } = fields;
  const stamp = "ts" in option.shape ? { ts: given.ts ?? nowTs() } : {};
  const candidate = { ...fields, ...stamp, v: SCHEMA_VERSION, type };
  const result = parseMessage(option, candidate);
  if (!result.ok) throw new TypeError(`${type}: ${result.reason}`);
  return result.value as MessageOf<S, T>;
}
