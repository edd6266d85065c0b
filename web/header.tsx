/**
 * The header's operator console parts: the status pills (the same checks as Central's
 * `GET /health/ready`, plus the weather office), the count of open alarms, and the links to the
 * dashboard's pages. Each pill says its status in words; the colour only repeats it; its tooltip
 * says why, in the page's language.
 *
 * @module
 */
import { memo } from "preact/compat";
import { alarms, ready } from "./ops.ts";
import { statusPills } from "./pills.ts";
import { routeHref } from "./route.ts";
import { route } from "./router.ts";
import { lang } from "./lang.ts";
import { ct, ctOr } from "./show.ts";
import type { StatusView } from "./state.ts";

/** One pill per part, from readiness and the live status. */
export const StatusPills = memo(function StatusPills(props: { status: StatusView }) {
  const pills = statusPills(ready.value, props.status, lang.value);
  return (
    <ul class="healthbar pills" aria-label={ct("systemStatus")} data-testid="status-pills">
      {pills.map((p) => (
        <li
          key={p.key}
          class={`health h-${p.status}`}
          title={p.detail || ct("readyNotAnswered")}
          data-pill={p.key}
          data-status={p.status}
        >
          <span class="dot" aria-hidden="true" />
          <span class="name">{ctOr(`part_${p.key}`, p.key)}</span>{" "}
          <span class="word">{ctOr(`health_${p.status}`, p.status)}</span>
        </li>
      ))}
    </ul>
  );
});

const PAGES = ["overview", "history", "alarms"] as const;

/** The dashboard's pages, the alarms with their open count. */
export const PageNav = memo(function PageNav() {
  const current = route.value.page;
  const open = alarms.value.open;
  return (
    <nav class="pages" aria-label={ct("pages")}>
      {PAGES.map((page) => (
        <a
          key={page}
          href={routeHref({ page })}
          aria-current={current === page ? "page" : undefined}
          data-nav={page}
        >
          {ct(page)}
          {page === "alarms" && (
            <>
              <span
                class={open > 0 ? "count alarm-count open" : "count alarm-count"}
                data-testid="alarm-count"
              >
                {open}
              </span>
              <span class="visually-hidden">{ct("openSuffix")}</span>
            </>
          )}
        </a>
      ))}
    </nav>
  );
});
