/**
 * The thread of {@link TelemetryOpener} (telemetry_opener.ts): opens the batches it is sent
 * with {@link openBatch} and answers each with its results, in the order they came, as one JSON
 * text: a string crosses to the main thread as one copy, and one `JSON.parse` of it there costs
 * less than the structured clone of thousands of small objects (BENCHMARKS.md, 2026-12-07). It
 * keeps nothing between batches, keys included, and logs nothing; its first message says whether
 * AES-GCM runs through OpenSSL.
 *
 * @module
 */
import type { FromOpener, ToOpener } from "./telemetry_opener.ts";
import { openBatch } from "./telemetry_open.ts";
import { OpenSslGcm } from "../shared/openssl_gcm.ts";

// deno-lint-ignore no-explicit-any
const scope = self as any as {
  postMessage(message: FromOpener): void;
  onmessage: ((e: MessageEvent<ToOpener>) => void) | null;
};

/** OpenSSL when the first message names it; `node:crypto` otherwise. */
let gcm: OpenSslGcm | undefined;

scope.onmessage = (e: MessageEvent<ToOpener>) => {
  const message = e.data;
  if (message.type === "init") {
    // Thrown, this ends the thread: the opener then opens on the main thread (its own OpenSSL).
    if (message.libcrypto !== undefined) gcm = OpenSslGcm.load(message.libcrypto);
    return;
  }
  const { id, batch } = message;
  try {
    scope.postMessage({ id, opened: JSON.stringify(openBatch(batch, gcm)) });
  } catch (error) {
    // A bug, not bad input (that is a result): the batch fails and is delivered again.
    scope.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
};
