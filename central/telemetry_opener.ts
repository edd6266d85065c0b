/**
 * Opens `cp.telemetry` batches ({@link openBatch}) on a thread of their own
 * (telemetry_open_worker.ts), so that Central's main thread, which applies them, spends its time
 * on the step and the store rather than on AES-GCM, base64 and zod (BENCHMARKS.md). A batch
 * smaller than `minBatch` is opened on the calling thread: the hop would cost it more than it
 * saves. The worker gets a batch's keys with the batch and keeps none; whether a key may still
 * be used is decided by the caller when it applies the results (kafka_edge.ts).
 *
 * @module
 */
import { getLogger } from "../shared/log.ts";
import { OpenSslGcm } from "../shared/openssl_gcm.ts";
import { type OpenBatch, openBatch, type Opened } from "./telemetry_open.ts";

const log = getLogger(["evcharging", "central", "kafka"]);

/** Main thread → worker: first how to open (OpenSSL's path, if any), then batches to open. */
export type ToOpener =
  | { readonly type: "init"; readonly libcrypto?: string }
  | { readonly type: "open"; readonly id: number; readonly batch: OpenBatch };

/** Worker → main thread: a batch's results (an `Opened[]` as JSON), or why it could not be opened. */
export type FromOpener =
  | { readonly id: number; readonly opened: string }
  | { readonly id: number; readonly error: string };

/** Settings of {@link TelemetryOpener.start}. */
export interface TelemetryOpenerOptions {
  /** Batches of fewer records are opened on the calling thread (default {@link MIN_WORKER_BATCH}). */
  readonly minBatch?: number;
  /** Worker threads, each batch to the next in turn (default 1). */
  readonly threads?: number;
  /**
   * Opens through OpenSSL's libcrypto at this path (shared/openssl_gcm.ts; needs `--allow-ffi`)
   * instead of `node:crypto`, on every thread.
   */
  readonly libcrypto?: string;
}

/** Below this many records a batch is opened on the calling thread (BENCHMARKS.md). */
export const MIN_WORKER_BATCH = 256;

/** The workers, or the calling thread once one is gone. */
export class TelemetryOpener {
  #workers: Worker[];
  readonly #minBatch: number;
  /** This thread's OpenSSL, when asked for; `node:crypto` otherwise. */
  #gcm: OpenSslGcm | undefined;
  readonly #pending = new Map<number, PromiseWithResolvers<Opened[]>>();
  #nextId = 1;

  private constructor(workers: Worker[], minBatch: number, gcm: OpenSslGcm | undefined) {
    this.#workers = workers;
    this.#minBatch = minBatch;
    this.#gcm = gcm;
    for (const worker of workers) {
      worker.onmessage = (e: MessageEvent<FromOpener>) => this.#receive(e.data);
      worker.onerror = (e) => {
        e.preventDefault();
        log.error("Telemetry thread failed: {error}; opening on the main thread from now on", {
          error: e.message,
        });
        this.#end(`telemetry thread failed: ${e.message}`);
      };
    }
  }

  /**
   * Starts the workers. With `libcrypto`, OpenSSL is loaded here first, so a path that cannot
   * be used fails the start (`OpenSslLoadError`) rather than each worker.
   */
  static start(options: TelemetryOpenerOptions = {}): TelemetryOpener {
    const { libcrypto } = options;
    const gcm = libcrypto === undefined ? undefined : OpenSslGcm.load(libcrypto);
    const workers = Array.from({ length: Math.max(1, options.threads ?? 1) }, () => {
      const worker = new Worker(new URL("./telemetry_open_worker.ts", import.meta.url), {
        type: "module",
      });
      worker.postMessage({ type: "init", libcrypto } satisfies ToOpener);
      return worker;
    });
    return new TelemetryOpener(workers, options.minBatch ?? MIN_WORKER_BATCH, gcm);
  }

  /**
   * The batch's results, in order: at once (on this thread) for a small batch or once the
   * worker is gone, else a promise of the worker's answer; then `batch.bytes` and `batch.ends`
   * have moved to the worker and are empty here. The promise rejects if the worker fails or is
   * closed first.
   */
  open(batch: OpenBatch): Opened[] | Promise<Opened[]> {
    const workers = this.#workers;
    if (workers.length === 0 || batch.ends.length < this.#minBatch) {
      return openBatch(batch, this.#gcm);
    }
    const id = this.#nextId++;
    const worker = workers[id % workers.length];
    const answer = Promise.withResolvers<Opened[]>();
    this.#pending.set(id, answer);
    // The records' buffers move to the worker, not copied: the batch is not read here again.
    worker.postMessage({ type: "open", id, batch } satisfies ToOpener, [
      batch.bytes.buffer,
      batch.ends.buffer,
    ]);
    return answer.promise;
  }

  /**
   * Ends the workers and unloads OpenSSL; batches still out fail (they are delivered again).
   * Idempotent. A batch opened after it opens on this thread, through `node:crypto`.
   */
  close(): void {
    this.#end("telemetry thread closed");
    this.#gcm?.close();
    this.#gcm = undefined;
  }

  #receive(message: FromOpener): void {
    const answer = this.#pending.get(message.id);
    if (answer === undefined) return;
    this.#pending.delete(message.id);
    if ("error" in message) answer.reject(new Error(message.error));
    else answer.resolve(JSON.parse(message.opened));
  }

  #end(why: string): void {
    for (const worker of this.#workers) worker.terminate();
    this.#workers = [];
    for (const answer of this.#pending.values()) answer.reject(new Error(why));
    this.#pending.clear();
  }
}
