/**
 * Central follows the Registry's change feed (`GET /changes`, registry/changes.ts) so that a
 * CP deregistered in the Registry — by a `DELETE /cp/{id}` or the dashboard's CP manager — is
 * logged out, loses its keys and has its session ticketed within moments (core input
 * `registry_change`).
 *
 * A long poll over the Registry's HTTPS: each request waits up to {@link FEED_WAIT_SECONDS}
 * for a change. Every change is applied in feed order as its own core step, which stores the
 * change's `seq` in the same transaction; at start the follower resumes after the stored `seq`,
 * so deregistrations made while Central was down are applied before long. A Registry that
 * cannot be reached is retried with capped backoff; one whose feed is behind Central's `seq`
 * had its database replaced, and is followed again from its start (the core ignores what it
 * has applied already).
 *
 * @module
 */
import { type ChangesPageJson, RegistryError } from "../registry/client.ts";
import { getLogger } from "../shared/log.ts";
import { notice, type NoticeFields } from "../shared/notices.ts";
import { doublingDelay, sleep } from "../shared/sleep.ts";
import type { CentralRuntime } from "./runtime.ts";

const log = getLogger(["evcharging", "central", "registry_feed"]);

/** How long each feed request may be held by the Registry, seconds. */
export const FEED_WAIT_SECONDS = 25;

/** What the follower reads: the Registry client's `changes`. */
export interface ChangeSource {
  /** `GET /changes` (registry/client.ts `RegistryClient.changes`). */
  changes(
    after: number,
    options: { waitSeconds?: number; limit?: number; signal?: AbortSignal },
  ): Promise<ChangesPageJson>;
}

/** Settings of {@link RegistryFeedFollower}. */
export interface FeedFollowerOptions {
  /** Seconds each request may be held (default {@link FEED_WAIT_SECONDS}). */
  readonly waitSeconds?: number;
  /** First retry delay after a failure, ms (default 500; doubles up to `maxRetryMs`). */
  readonly retryMs?: number;
  /** Longest retry delay, ms (default 15 000). */
  readonly maxRetryMs?: number;
  /** Retry delay after the Registry refused the key, ms (default 60 000). */
  readonly refusedRetryMs?: number;
}

/**
 * The follower's state for `GET /health/ready`: `unknown` until the Registry first answered,
 * `ok` while its last request was answered, `down` (saying why, in English and as a code with
 * parameters: shared/notices.ts) while it fails.
 */
export interface FeedHealth extends NoticeFields {
  /** `ok`, `down`, or `unknown` before the first answer. */
  readonly status: "ok" | "down" | "unknown";
  /** The last `seq` applied. */
  readonly appliedSeq: number;
  /** When the Registry last answered (ms), or null. */
  readonly lastOkMs: number | null;
}

/** Follows the feed from the last applied `seq` until {@link stop}. */
export class RegistryFeedFollower {
  readonly #runtime: CentralRuntime;
  readonly #source: ChangeSource;
  readonly #waitSeconds: number;
  readonly #retryMs: number;
  readonly #maxRetryMs: number;
  readonly #refusedRetryMs: number;
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;
  #applied: number;
  #health: Omit<FeedHealth, "appliedSeq"> = {
    status: "unknown",
    ...notice("not_asked_yet"),
    lastOkMs: null,
  };

  /** Resumes after the `seq` the store last applied. Call {@link start} to begin. */
  constructor(runtime: CentralRuntime, source: ChangeSource, options: FeedFollowerOptions = {}) {
    this.#runtime = runtime;
    this.#source = source;
    this.#waitSeconds = options.waitSeconds ?? FEED_WAIT_SECONDS;
    this.#retryMs = options.retryMs ?? 500;
    this.#maxRetryMs = options.maxRetryMs ?? 15_000;
    this.#refusedRetryMs = options.refusedRetryMs ?? 60_000;
    this.#applied = runtime.store.registrySeq();
  }

  /** The last `seq` applied. */
  get applied(): number {
    return this.#applied;
  }

  /** The follower's state now. */
  health(): FeedHealth {
    return { ...this.#health, appliedSeq: this.#applied };
  }

  /** Starts following (once). */
  start(): void {
    this.#loop ??= this.#follow();
  }

  /** Stops: a held request is aborted; resolves once the loop has ended. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
  }

  async #follow(): Promise<void> {
    const signal = this.#abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      let page: ChangesPageJson;
      try {
        // Until an answer came (at start, after a failure) no wait: catch up and say so at once.
        page = await this.#source.changes(this.#applied, {
          waitSeconds: this.#health.status === "ok" ? this.#waitSeconds : 0,
          signal,
        });
      } catch (error) {
        if (signal.aborted) return;
        failures++;
        const refused = error instanceof RegistryError && error.status === 401;
        this.#health = {
          ...this.#health,
          status: "down",
          ...(refused ? notice("feed_refused") : notice("feed_unreadable", {
            failures,
            error: String((error as Error)?.message ?? error),
          })),
        };
        if (refused) {
          // Each refusal counts against this address at the Registry: try rarely, say why.
          log.error(
            "The Registry refused the change feed key: deregistrations do not reach Central. " +
              "Give Central the Registry's key (REGISTRY_FEED_KEY, or its registry_feed.key " +
              "as --registry-feed-key-file); retrying in {delayMs} ms",
            { delayMs: this.#refusedRetryMs },
          );
          await sleep(this.#refusedRetryMs, signal);
          continue;
        }
        const delayMs = doublingDelay(failures, this.#retryMs, this.#maxRetryMs);
        // The first failure and every tenth are worth a warning; the rest would flood the log.
        const level = failures === 1 || failures % 10 === 0 ? "warning" : "debug";
        log[level](
          "Registry change feed unavailable ({failures}× in a row), retrying in {delayMs} ms: " +
            "deregistrations wait until it answers. {error}",
          { failures, delayMs, error: String((error as Error)?.message ?? error) },
        );
        await sleep(delayMs, signal);
        continue;
      }
      if (failures > 0) {
        log.info("Registry change feed followed again after {failures} failures", {
          failures,
        });
      }
      failures = 0;
      this.#health = { status: "ok", ...notice("feed_ok"), lastOkMs: Date.now() };
      if (page.last_seq < this.#applied) {
        log.warning(
          "The Registry's change feed ends at {last}, before {applied} applied here: its " +
            "database was replaced; following it from the start",
          { last: page.last_seq, applied: this.#applied },
        );
        this.#applied = 0;
        continue;
      }
      try {
        this.#apply(page);
      } catch (error) {
        if (signal.aborted) return; // Central is stopping: its runtime refuses input
        // Not applied (the store failed): the same changes are asked for again.
        log.error("Registry change not applied, retrying in {delayMs} ms: {error}", {
          delayMs: this.#maxRetryMs,
          error: String((error as Error)?.message ?? error),
        });
        await sleep(this.#maxRetryMs, signal);
      }
    }
  }

  #apply(page: ChangesPageJson): void {
    for (const change of page.changes) {
      if (this.#abort.signal.aborted) return;
      this.#runtime.dispatch({
        type: "registry_change",
        seq: change.seq,
        cpId: change.cp_id,
        action: change.action,
        registeredAt: change.registered_at,
      }, Date.now());
      this.#applied = change.seq;
    }
  }
}
