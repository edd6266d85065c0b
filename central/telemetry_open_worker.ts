/**
 * The thread of {@link TelemetryOpener} (telemetry_opener.ts): opens the batches it is sent
 * with {@link openBatch} and answers each with its results, in the order they came. It keeps
 * nothing between batches, keys included, and logs nothing.
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
    scope.postMessage({ id, opened: openBatch(batch) });
  } catch (error) {
    // A bug, not bad input (that is a result): the batch fails and is delivered again.
    scope.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
};
