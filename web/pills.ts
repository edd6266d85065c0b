/**
 * The header's status pills: one per part Central's `GET /health/ready` checks (Kafka, the
 * Registry, its change feed, the database, and any part it adds), in its order, with the same
 * status and detail, then the weather office as the live `status` event shows it (it never makes
 * Central unready). The detail is in the page's language: Central sends it as a code with
 * parameters besides its English words (shared/notices.ts), which stand for a code unknown here.
 * Each pill says its status in words (web/header.tsx), not by colour alone. Pure: no DOM.
 *
 * @module
 */
import type { Lang } from "../shared/i18n.ts";
import { noticeText } from "../shared/notices.ts";
import type { PartHealth, StatusView } from "./state.ts";

/** `GET /health/ready` (and `GET /health`), the parts the pills show. */
export interface ReadyBody {
  /** `ok` or `unavailable`. */
  readonly status: string;
  /** The parts that are not ok. */
  readonly failing: readonly string[];
  /** Each part's check, in Central's order. */
  readonly checks: Readonly<Record<string, PartHealth>>;
}

/** One pill. */
export interface Pill {
  /** The part's key (`kafka`, `registry`, `registry_feed`, `database`, `weather`…). */
  readonly key: string;
  /** Its status. */
  readonly status: PartHealth["status"];
  /** One line saying why, in the page's language ("" when nothing says why). */
  readonly detail: string;
}

/**
 * The pills from the readiness answer (null before the first, or while Central does not answer:
 * Kafka and the Registry then come from the live status, the database is unknown with no detail)
 * and the live status (for the weather office), saying why in `lang`.
 */
export function statusPills(ready: ReadyBody | null, status: StatusView, lang: Lang): Pill[] {
  const pill = (key: string, part: PartHealth): Pill => ({
    key,
    status: part.status,
    detail: noticeText(part, lang),
  });
  const parts: Pill[] = ready === null
    ? [
      pill("kafka", status.kafka),
      pill("registry", status.registry),
      pill("database", { status: "unknown", detail: "" }),
    ]
    : Object.entries(ready.checks).map(([key, part]) => pill(key, part));
  return [...parts, pill("weather", status.weather)];
}
