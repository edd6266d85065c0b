/**
 * What Central's dashboard stream (`GET /events?batch=1`) carries, from its text, with no
 * socket: {@link SseFrames} cuts the text into server-sent events as it comes, however it is
 * split, and {@link streamFigures} counts them over a window: bytes and `batch` events a
 * second, the batches' sizes, and the events they carry a second by type. The dashboard bench
 * (fleet/bench_dashboard.ts) gives them for Central under the load harness and under a real
 * `deno task bench`, so the two streams can be compared (BENCHMARKS.md).
 *
 * @module
 */
import { quantile } from "./dashboard_probe.ts";

/** One server-sent event. */
export interface SseFrame {
  /** Its `event` name (`message` without one). */
  readonly event: string;
  /** Its `data` lines, joined. */
  readonly data: string;
  /** Its length on the wire, separator included, in characters (the stream is ASCII JSON). */
  readonly chars: number;
}

/**
 * Cuts a stream's text into events; a frame split across chunks waits for its end. Each chunk is
 * scanned once (a 2 MB batch comes in dozens of chunks: rescanning it at each would cost more
 * than reading it).
 */
export class SseFrames {
  #buffer = "";

  /** The events completed by `text`. */
  push(text: string): SseFrame[] {
    const from = Math.max(0, this.#buffer.length - 3);
    this.#buffer += text;
    const frames: SseFrame[] = [];
    let start = 0;
    let at = from;
    for (;;) {
      const lf = this.#buffer.indexOf("\n\n", Math.max(at, start));
      const crlf = this.#buffer.indexOf("\r\n\r\n", Math.max(at, start));
      const end = lf < 0 ? crlf : crlf < 0 ? lf : Math.min(lf, crlf);
      if (end < 0) break;
      const sep = end === crlf ? 4 : 2;
      const frame = frameOf(this.#buffer.slice(start, end), end + sep - start);
      if (frame !== undefined) frames.push(frame);
      start = at = end + sep;
    }
    if (start > 0) this.#buffer = this.#buffer.slice(start);
    return frames;
  }
}

/** One event's lines, or undefined when it has no data (a `retry:` or a comment). */
function frameOf(raw: string, chars: number): SseFrame | undefined {
  let event = "message";
  const data: string[] = [];
  for (const line of raw.split(/\r?\n/)) {
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  return data.length === 0 ? undefined : { event, data: data.join("\n"), chars };
}

/** The p50, p95 and largest of some sizes. */
export interface Spread {
  readonly p50: number;
  readonly p95: number;
  readonly max: number;
}

/** The stream over a window. */
export interface StreamFigures {
  /** The window, s. */
  readonly seconds: number;
  /** Characters (≈ bytes) of every event a second, KB. */
  readonly kb_per_s: number;
  /** `batch` events a second. */
  readonly batches_per_s: number;
  /** Events in one `batch`. */
  readonly batch_events: Spread;
  /** One `batch`'s size, KB. */
  readonly batch_kb: Spread;
  /** Events a second by type, those inside batches and those sent alone (not `ping`). */
  readonly events_per_s: Readonly<Record<string, number>>;
}

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/**
 * The figures of `frames` read over `seconds`. The first `reset` or replayed batch is the
 * stream's opening, not its rate, so a `reset` and the frames before it are left out.
 */
export function streamFigures(frames: readonly SseFrame[], seconds: number): StreamFigures {
  const resetAt = frames.findIndex((f) => f.event === "reset");
  const counted = frames.slice(resetAt + 1);
  const perType = new Map<string, number>();
  const add = (type: string, n = 1) => perType.set(type, (perType.get(type) ?? 0) + n);
  const sizes: number[] = [];
  const counts: number[] = [];
  let chars = 0;
  for (const frame of counted) {
    chars += frame.chars;
    if (frame.event === "ping") continue;
    if (frame.event !== "batch") {
      add(frame.event);
      continue;
    }
    const items = JSON.parse(frame.data) as { type: string }[];
    for (const item of items) add(item.type);
    sizes.push(frame.chars / 1000);
    counts.push(items.length);
  }
  const spread = (values: number[]): Spread => ({
    p50: round(quantile(values, 0.5)),
    p95: round(quantile(values, 0.95)),
    max: round(Math.max(0, ...values)),
  });
  return {
    seconds,
    kb_per_s: round(chars / 1000 / seconds),
    batches_per_s: round(sizes.length / seconds),
    batch_events: spread(counts),
    batch_kb: spread(sizes),
    events_per_s: Object.fromEntries(
      [...perType].sort(([a], [b]) => a < b ? -1 : 1).map((
        [type, n],
      ) => [type, round(n / seconds)]),
    ),
  };
}
