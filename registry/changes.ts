/**
 * The Registry's change feed, `GET /changes?after=<seq>&wait=<s>`: every registry action
 * (registered, updated, deregistered) in order, numbered by a `seq` that lives in the SQLite
 * history, so it survives restarts and is never reused. Central follows it
 * (central/registry_feed.ts) and remembers the last `seq` it applied, so a deregistration takes
 * effect at once while it runs and is caught up after it was down.
 *
 * A long poll: with `wait`, a request that finds nothing new is held until the next change or
 * the wait ends. Readers must hold the feed key (`Authorization: Bearer`) or the admin key
 * (`X-Admin-Key`); wrong keys count against the address like a wrong admin key, and only a
 * bounded number of requests may wait at once.
 *
 * @module
 */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import {
  bearerToken,
  errorContent as err,
  jsonContent as json,
  type Problem,
  remoteAddress,
  secretsEqual,
} from "../shared/http_api.ts";
import { getLogger } from "../shared/log.ts";
import { retryAfterSeconds } from "../shared/rate_limit.ts";
import type { AuthGuard } from "./rate_limit.ts";
import { ADMIN_KEY_HEADER, type ChangeJson, ChangesPage, ChangesQuery } from "./schemas.ts";
import type { CpChange, RegistryStore } from "./store.ts";

/** Requests that may wait for a change at once; more get 503 with `Retry-After`. */
export const MAX_WAITING = 64;

const log = getLogger(["evcharging", "registry"]);

/**
 * Requests waiting for the next change. A store write wakes them all; {@link close} wakes them
 * for good (the server is stopping and must not wait for held requests).
 */
export class ChangeWaiters {
  readonly #waiting = new Set<() => void>();
  readonly #unsubscribe: () => void;
  #closed = false;

  /** Wakes the waiters at each change committed to `store`. */
  constructor(store: RegistryStore) {
    this.#unsubscribe = store.onChange(() => this.#wakeAll());
  }

  /** How many requests wait now. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Resolves at the next change, after `ms`, when `signal` aborts, or at {@link close},
   * whichever comes first. Registers before returning, so a change committed right after the
   * caller's last read is not missed.
   */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.#closed || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        this.#waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener("abort", done, { once: true });
      this.#waiting.add(done);
    });
  }

  /** Wakes every waiter and makes later waits return at once. */
  close(): void {
    this.#closed = true;
    this.#unsubscribe();
    this.#wakeAll();
  }

  #wakeAll(): void {
    for (const done of [...this.#waiting]) done();
  }
}

/** What the route needs from the app. */
export interface ChangeFeedDeps {
  /** The CP database. */
  readonly store: RegistryStore;
  /** Where held requests wait. */
  readonly waiters: ChangeWaiters;
  /** The admin key (also reads the feed). */
  readonly adminKey: string;
  /** The feed key Central reads with; unset: only the admin key reads. */
  readonly feedKey?: string;
  /** Counts wrong keys per address. */
  readonly guard: AuthGuard;
  /** The error answer. */
  readonly problem: Problem;
}

/** Either key reads the feed (OpenAPI: alternatives). */
const READERS: Record<string, string[]>[] = [{ feedKey: [] }, { adminKey: [] }];

const changesRoute = createRoute({
  method: "get",
  path: "/changes",
  summary: "The change feed: registry actions after a seq, held until one comes (long poll)",
  description: "Central follows it so that a deregistration takes effect at once. Send the feed " +
    "key as `Authorization: Bearer <key>` or the admin key as `X-Admin-Key`.",
  security: READERS,
  request: { query: ChangesQuery },
  responses: {
    200: json(ChangesPage, "the changes after `after` (empty when the wait ended first)"),
    400: err("bad query"),
    401: err("missing or wrong key"),
    429: err("too many wrong keys from this address (the right key is never refused)"),
    503: err("too many requests waiting; retry after Retry-After"),
  },
});

function toJson(change: CpChange): ChangeJson {
  return {
    seq: change.seq,
    cp_id: change.cpId,
    action: change.action,
    at: change.at,
    registered_at: change.registeredAt,
  };
}

/** Whether the request carries the feed key or the admin key. */
async function authorized(c: Context<Env>, deps: ChangeFeedDeps): Promise<boolean> {
  const bearer = bearerToken(c.req.header("authorization"));
  if (bearer !== undefined && deps.feedKey !== undefined) {
    if (await secretsEqual(bearer, deps.feedKey)) return true;
  }
  const admin = c.req.header(ADMIN_KEY_HEADER);
  return admin !== undefined && admin !== "" && await secretsEqual(admin, deps.adminKey);
}

/** The Registry app's environment (registry/app.ts `RegistryEnv`). */
type Env = { Bindings: { remoteAddr?: Deno.Addr } | undefined };

/** Adds `GET /changes` to the Registry app. */
export function addChangeFeedRoute(app: OpenAPIHono<Env>, deps: ChangeFeedDeps): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "feedKey", {
    type: "http",
    scheme: "bearer",
    description: "the feed key (registry_feed.key or REGISTRY_FEED_KEY)",
  });
  app.openapi(changesRoute, async (c) => {
    // The key first: the right one always reads, so strangers on Central's address never
    // throttle Central's feed; only wrong ones count against their address.
    if (!(await authorized(c, deps))) {
      const ip = remoteAddress(c);
      const verdict = deps.guard.wrongKey(ip);
      if (!verdict.allowed) {
        const seconds = retryAfterSeconds(verdict.retryAfterMs);
        return deps.problem(
          c,
          429,
          "too_many_attempts",
          `too many wrong keys from this address; retry in ${seconds} s`,
          { "Retry-After": String(seconds) },
        );
      }
      log.warning("wrong or missing feed key on GET /changes from {ip}", { ip });
      return deps.problem(c, 401, "invalid_feed_key", "send the feed key or the admin key");
    }
    const { after, limit, wait } = c.req.valid("query");
    let changes = deps.store.changesAfter(after, limit);
    if (changes.length === 0 && wait > 0) {
      if (deps.waiters.waiting >= MAX_WAITING) {
        return deps.problem(c, 503, "too_many_waiting", "too many feed readers wait already", {
          "Retry-After": "1",
        });
      }
      const deadline = Date.now() + wait * 1000;
      const signal = c.req.raw.signal;
      while (changes.length === 0 && !deps.waiters.closed && !signal.aborted) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        await deps.waiters.wait(left, signal);
        if (deps.waiters.closed) break; // the store is about to close
        changes = deps.store.changesAfter(after, limit);
      }
    }
    const page = { changes: changes.map(toJson), last_seq: deps.store.lastChangeSeq() };
    return c.json(page, 200, { "Cache-Control": "no-store" });
  });
}
