/**
 * The thread of {@link TelemetryOpener} (telemetry_opener.ts): opens the batches it is sent
 * with {@link openBatch} and answers each with its results, in the order they came, as one JSON
 * text: a string crosses to the main thread as one copy, and one `JSON.parse` of it there costs
 * less than the structured clone of thousands of small objects (BENCHMARKS.md, 2026-12-07). It
 * keeps nothing between batches, keys included, and logs nothing.
 *
 * @module
 */
import type { FromOpener, ToOpener } from "./telemetry_opener.ts";
import { openBatch } from "./telemetry_open.ts";

// deno-lint-ignore no-explicit-any
const scope = self as any as {
  postMessage(message: FromOpener): void;
  onmessage: ((e: MessageEvent<ToOpener>) => void) | null;
};

scope.onmessage = (e: MessageEvent<ToOpener>) => {
  const { id, batch } = e.data;
  try {
    scope.postMessage({ id, opened: JSON.stringify(openBatch(batch)) });
  } catch (error) {
    // A bug, not bad input (that is a result): the batch fails and is delivered again.
    scope.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
};
