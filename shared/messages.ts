/**
 * One versioned schema for every message of the system (ARCHITECTURE §Kafka topics for Kafka
 * values, §Framed protocol for framed TCP messages), built from shared field schemas so every
 * component validates ids, numbers and timestamps the same way. Everyone imports it from here;
 * it lives in three rooms under `shared/messages/`:
 *
 * - `fields.ts`: the limits and the field schemas (ids, numbers, timestamps, keys, text, the
 *   reason vocabularies, audit fields) with their types;
 * - `channels.ts`: the messages, channel by channel, with their types;
 * - `codec.ts`: {@link parseMessage}, {@link decodeJson}, {@link decodeMessage} and
 *   {@link build}.
 *
 * Conventions:
 * - Every message is a JSON object with `v: 1` (schema version) and a `type` literal; objects are
 *   strict (an unknown field is an error) and each channel is a `z.discriminatedUnion("type")`.
 * - Timestamps (`ts`) are ISO 8601 UTC strings exactly as `Date.prototype.toISOString()` writes
 *   them (`2025-01-31T12:00:00.000Z`). Every Kafka value and every payload inside an envelope
 *   carries one (stamped by the producer); framed TCP messages are live traffic and carry none.
 * - The encrypted envelope (`{v, cp, kv, seq, iv, ct}`) is defined and checked by
 *   `shared/envelope.ts`; here are only the payloads that travel inside it.
 * - A session whose vehicle is never plugged in (a time-out, ARCHITECTURE §Sessions) is closed by
 *   the engine with `SUPPLY_END{kwh: 0, eur: 0, endReason: "plug_timeout"}`; Central then sends
 *   the driver a zero `TICKET` with the same reason, so every `AUTHORIZED` ends with exactly one
 *   `TICKET`.
 *
 * Receivers call {@link parseMessage} (or {@link decodeMessage} on raw bytes): it never throws and
 * gives one human-readable line naming the failing field, to NACK, DENY or drop with.
 * Producers call {@link build}, which stamps `v`/`type`/`ts` and refuses to produce an invalid
 * message.
 *
 * @module
 */
export * from "./messages/fields.ts";
export * from "./messages/channels.ts";
export {
  build,
  decodeJson,
  decodeMessage,
  type MessageFields,
  parseMessage,
  type ParseResult,
} from "./messages/codec.ts";
