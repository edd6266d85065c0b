/**
 * Codec for the framed TCP protocol (ARCHITECTURE §Framed protocol): `STX DATA ETX LRC`, where
 * DATA is UTF-8 JSON and LRC is the XOR of every DATA byte and of ETX.
 *
 * Pure code, no I/O: `framed_conn.ts` puts it on a socket. Keeping it pure
 * lets the tests cut streams at every byte without opening a socket.
 *
 * @module
 */
import { concatBytes } from "./encoding.ts";

/** Enquiry: the client opens a conversation with it. */
export const ENQ = 0x05;
/** Acknowledge: the opening or the last frame was accepted. */
export const ACK = 0x06;
/** Negative acknowledge: the opening or the last frame was rejected. */
export const NACK = 0x15;
/** End of transmission: the sender closes the conversation. */
export const EOT = 0x04;
/** Start of text: the first byte of a frame. */
export const STX = 0x02;
/** End of text: follows DATA; the next byte is the LRC. */
export const ETX = 0x03;

/** Largest DATA (the JSON between STX and ETX) a frame may carry, in bytes. */
export const MAX_FRAME_BYTES = 64 * 1024;

/** A control byte that travels alone, outside any frame. */
export type ControlByte = typeof ENQ | typeof ACK | typeof NACK | typeof EOT;

/**
 * Why a frame was rejected. The protocol answers every one with NACK.
 * `truncated`: a new STX arrived before the frame's ETX, so the frame was cut short.
 */
export type BadReason = "lrc" | "json" | "oversize" | "utf8" | "truncated";

/** What the decoder found in the stream. `size` is the DATA length in bytes. */
export type DecodeEvent =
  | { kind: "frame"; value: unknown; size: number }
  | { kind: "bad"; reason: BadReason; detail: string; size: number }
  | { kind: "control"; byte: ControlByte };

/** The LRC of a frame: XOR of every byte of `data` and of ETX. */
export function lrc(data: Uint8Array): number {
  let x = ETX;
  for (const b of data) x ^= b;
  return x;
}

const utf8Encoder = new TextEncoder();
// fatal: invalid UTF-8 must be rejected, not silently turned into U+FFFD.
// ignoreBOM: keep a BOM so it fails JSON.parse instead of being quietly dropped.
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Encodes a JSON-serialisable value as one frame: `STX JSON-UTF8 ETX LRC`.
 *
 * JSON.stringify escapes every control character and every lone surrogate,
 * so DATA never contains STX/ETX and is always valid UTF-8.
 *
 * @throws TypeError if the value has no JSON form (undefined, a function, a BigInt, a cycle).
 * @throws RangeError if DATA would exceed {@link MAX_FRAME_BYTES}.
 */
export function encodeFrame(value: unknown): Uint8Array {
  const json = JSON.stringify(value);
  if (json === undefined) {
    throw new TypeError(`encodeFrame: a ${typeof value} has no JSON form`);
  }
  const data = utf8Encoder.encode(json);
  if (data.length > MAX_FRAME_BYTES) {
    throw new RangeError(
      `encodeFrame: DATA is ${data.length} bytes, over the ${MAX_FRAME_BYTES}-byte frame limit`,
    );
  }
  const frame = new Uint8Array(data.length + 3);
  frame[0] = STX;
  frame.set(data, 1);
  frame[data.length + 1] = ETX;
  frame[data.length + 2] = lrc(data);
  return frame;
}

function isControl(b: number): b is ControlByte {
  return b === ENQ || b === ACK || b === NACK || b === EOT;
}

/**
 * - idle: between frames; skip garbage, report lone control bytes.
 * - data: inside DATA, buffering it.
 * - lrc: ETX seen; the next byte, whatever it is, is the checksum.
 * - discard / discard-lrc: the same, for a frame already known to be oversize
 *   (counted, not buffered).
 */
type State = "idle" | "data" | "lrc" | "discard" | "discard-lrc";

/**
 * Streaming frame decoder. Feed it bytes as they arrive, in chunks of any size
 * cut at any place; it returns what it completed. Never throws on bad input.
 *
 * Bytes inside DATA are taken as DATA even when they are control bytes: a
 * well-behaved peer never writes one in the middle of a frame, and JSON
 * cannot contain them, so such a frame ends up as `bad/json`.
 */
export class FrameDecoder {
  #state: State = "idle";
  // DATA arrives as copied chunk slices, joined once at ETX: linear in the
  // frame size, where concatenating on every chunk would be quadratic.
  #parts: Uint8Array[] = [];
  #buffered = 0;
  #size = 0; // DATA bytes seen in the current frame, discarded ones included
  #skipped = 0;

  /** DATA bytes held for the frame in progress (never above {@link MAX_FRAME_BYTES}). */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** Garbage bytes skipped between frames so far (for diagnostics). */
  get skippedBytes(): number {
    return this.#skipped;
  }

  /** Consumes a chunk and returns the events it completed, in stream order. */
  push(chunk: Uint8Array): DecodeEvent[] {
    const events: DecodeEvent[] = [];
    let i = 0;
    while (i < chunk.length) {
      switch (this.#state) {
        case "idle": {
          const b = chunk[i++];
          if (b === STX) this.#reset("data");
          else if (isControl(b)) events.push({ kind: "control", byte: b });
          else this.#skipped++;
          break;
        }
        case "data":
        case "discard": {
          // Take the whole run up to the next ETX or STX in one step.
          let end = i;
          while (end < chunk.length && chunk[end] !== ETX && chunk[end] !== STX) end++;
          this.#take(chunk.subarray(i, end));
          i = end;
          if (i === chunk.length) break;
          if (chunk[i++] === ETX) {
            this.#state = this.#state === "data" ? "lrc" : "discard-lrc";
          } else {
            // STX inside DATA: the previous frame was cut short; this one starts afresh.
            events.push(
              this.#state === "data"
                ? this.#bad("truncated", `new STX after ${this.#size} DATA bytes`)
                : this.#oversize(),
            );
            this.#reset("data");
          }
          break;
        }
        case "lrc":
          events.push(this.#finish(chunk[i++]));
          break;
        case "discard-lrc":
          i++; // the checksum of a frame we never kept: nothing to check
          events.push(this.#oversize());
          this.#reset("idle");
          break;
      }
    }
    return events;
  }

  /** Forgets the current frame; `data` starts a new one. */
  #reset(state: "idle" | "data"): void {
    this.#state = state;
    this.#parts = [];
    this.#buffered = 0;
    this.#size = 0;
  }

  #take(run: Uint8Array): void {
    if (run.length === 0) return;
    this.#size += run.length;
    if (this.#state !== "data") return;
    if (this.#size > MAX_FRAME_BYTES) {
      // Past the limit: free what we hold and only count from here on.
      this.#state = "discard";
      this.#parts = [];
      this.#buffered = 0;
      return;
    }
    // slice() copies: the caller may reuse its read buffer for the next chunk.
    this.#parts.push(run.slice());
    this.#buffered += run.length;
  }

  #finish(checksum: number): DecodeEvent {
    const data = concatBytes(this.#parts);
    this.#reset("idle");

    const expected = lrc(data);
    if (checksum !== expected) {
      return this.#bad("lrc", `LRC 0x${hex(checksum)}, expected 0x${hex(expected)}`, data.length);
    }
    let text: string;
    try {
      text = utf8Decoder.decode(data);
    } catch {
      return this.#bad("utf8", "DATA is not valid UTF-8", data.length);
    }
    try {
      return { kind: "frame", value: JSON.parse(text), size: data.length };
    } catch {
      // The parser's message quotes the text, which may hold secrets: keep it out.
      return this.#bad("json", "DATA is not valid JSON", data.length);
    }
  }

  #oversize(): DecodeEvent {
    return this.#bad("oversize", `DATA of ${this.#size} bytes exceeds ${MAX_FRAME_BYTES}`);
  }

  #bad(reason: BadReason, detail: string, size = this.#size): DecodeEvent {
    return { kind: "bad", reason, detail, size };
  }
}

function hex(b: number): string {
  return b.toString(16).padStart(2, "0");
}
