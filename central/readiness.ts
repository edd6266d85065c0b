/**
 * Whether Central can do its work now, for `GET /health/ready` (and `GET /health`): ready only
 * when Kafka (producer connected, consumers fetching), the Registry (its last status call
 * answered), the Registry's change feed (Central's follower reads it, so a deregistration takes
 * effect) and the database (the last commit went through and it answers a query) are all
 * healthy; otherwise the failing parts are named. The weather office is shown but never makes
 * Central unready: charging goes on without it.
 *
 * Pure: the facts in, the verdict out (central/api_health.ts gathers the facts).
 *
 * @module
 */
import { notice, type NoticeFields } from "../shared/notices.ts";
import type { SystemStatus } from "./system_health.ts";

/** A part Central cannot work without. */
export type Part = "kafka" | "registry" | "registry_feed" | "database";

/**
 * One part's check as `GET /health` shows it: its status, and one line saying why (never a
 * secret) in English (`detail`) and as a code with parameters the dashboard translates
 * (shared/notices.ts).
 */
export interface Check extends NoticeFields {
  /** `ok`, `down`, or `unknown` while nothing has been observed (counts as not ready). */
  readonly status: "ok" | "down" | "unknown";
}

/** What the database looks like now. */
export interface DatabaseFacts {
  /** The last failed commit (ms, message), if no commit went through since. */
  readonly failure: { readonly at: number; readonly message: string } | null;
  /** The error of a trivial query now, or null when it answered. */
  readonly queryError: string | null;
}

/** The verdict. */
export interface Readiness {
  /** Every part is `ok`. */
  readonly ready: boolean;
  /** The parts that are not `ok`, in a fixed order. */
  readonly failing: readonly Part[];
  /** Each part's check. */
  readonly checks: Readonly<Record<Part, Check>>;
}

/** The database's check from its facts. */
export function databaseCheck(facts: DatabaseFacts): Check {
  if (facts.queryError !== null) {
    return { status: "down", ...notice("database_query_failed", { error: facts.queryError }) };
  }
  if (facts.failure !== null) {
    return {
      status: "down",
      ...notice("database_commit_failed", {
        at: new Date(facts.failure.at).toISOString(),
        error: facts.failure.message,
      }),
    };
  }
  return { status: "ok", ...notice("database_ok") };
}

/**
 * The verdict from the system status (undefined: Central runs without Kafka and the Registry,
 * as in unit tests of the API, and only the database is judged) and the database's facts.
 */
export function readiness(status: SystemStatus | undefined, database: DatabaseFacts): Readiness {
  const unwatched: Check = { status: "ok", ...notice("not_watched") };
  const checks: Record<Part, Check> = {
    kafka: status === undefined ? unwatched : pick(status.kafka),
    registry: status === undefined ? unwatched : pick(status.registry),
    registry_feed: status === undefined ? unwatched : pick(status.registry_feed),
    database: databaseCheck(database),
  };
  const failing = (["kafka", "registry", "registry_feed", "database"] as const).filter((part) =>
    checks[part].status !== "ok"
  );
  return { ready: failing.length === 0, failing, checks };
}

function pick(part: Check): Check {
  return {
    status: part.status,
    detail: part.detail,
    detail_code: part.detail_code,
    detail_params: part.detail_params,
  };
}
