/**
 * The session history: sessions of Central's `GET /sessions` filtered by status, a date range,
 * CP and driver, newest first, a page at a time ("More" follows the cursor), every time with its
 * date, the filters kept in the page's hash; and a CSV download of `GET /sessions.csv` with
 * exactly the filters the table shows. The per-CP page uses the same table with its CP fixed.
 *
 * @module
 */
import { memo } from "preact/compat";
import { type Signal, useSignal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import { endReasonText } from "../shared/vocabulary.ts";
import { lang } from "./lang.ts";
import { answerDetail, ct, dateTime, eur, kwh } from "./show.ts";
import {
  ANY_SESSION,
  csvUrl,
  filterParams,
  fromHistoryQuery,
  type HistoryFilter,
  historyQuery,
  pageUrl,
} from "./history_query.ts";
import { cpHref, routeHref } from "./route.ts";
import type { SessionView } from "./state.ts";
import { Panel, ScrollTable } from "./views.tsx";

interface Loaded {
  readonly items: readonly SessionView[];
  readonly next: string | null;
}

/** One page of `GET /sessions` for `params` after `cursor`. */
async function fetchPage(
  params: URLSearchParams,
  cursor: string,
  limit: number,
): Promise<{ items: SessionView[]; next_cursor: string | null }> {
  const res = await fetch(pageUrl(params, cursor, limit), { cache: "no-store" });
  const body = await res.json();
  if (!res.ok) throw new Error(answerDetail(body) ?? `Central answered ${res.status}`);
  return body;
}

/** "3 sessions", "50 sessions so far" while a next page is there. */
function countText(n: number, next: string | null): string {
  const count = n === 1 ? ct("sessionCountOne") : ct("sessionCount", { n });
  return next === null ? count : ct("soFar", { count });
}

function Filters(props: {
  draft: Signal<HistoryFilter>;
  fixedCp?: string;
  onApply: () => void;
}) {
  const { draft } = props;
  const set = (change: Partial<HistoryFilter>) => draft.value = { ...draft.value, ...change };
  const text = (e: Event) => (e.target as HTMLInputElement).value;
  /** The input of the filter's `name`, labelled with the text of that name. */
  const field = (
    name: "from" | "to" | "cp" | "driver",
    attrs: { type: "datetime-local" } | { size: number },
  ) => (
    <label>
      {ct(name)}{" "}
      <input
        {...attrs}
        name={name}
        value={draft.value[name]}
        onInput={(e) => set({ [name]: text(e) })}
      />
    </label>
  );
  return (
    <form
      class="filters history-filters"
      aria-label={ct("sessionFilters")}
      onSubmit={(e) => {
        e.preventDefault();
        props.onApply();
      }}
    >
      <label>
        {ct("sessionsLabel")}{" "}
        <select
          name="status"
          value={draft.value.status}
          onChange={(e) => set({ status: text(e) as HistoryFilter["status"] })}
        >
          <option value="all">{ct("statusAll")}</option>
          <option value="active">{ct("statusActive")}</option>
          <option value="completed">{ct("statusCompleted")}</option>
        </select>
      </label>
      {field("from", { type: "datetime-local" })}
      {field("to", { type: "datetime-local" })}
      {props.fixedCp === undefined && field("cp", { size: 10 })}
      {field("driver", { size: 10 })}
      <button type="submit">{ct("show")}</button>
    </form>
  );
}

function SessionTable(props: { items: readonly SessionView[]; linkCps: boolean }) {
  return (
    <ScrollTable
      label={ct("sessionsRegion")}
      class="history"
      testid="history-table"
      columns={[
        ct("colSession"),
        ct("colCp"),
        ct("colDriver"),
        ct("colStarted"),
        ct("colEnded"),
        { num: ct("colEnergy") },
        { num: ct("colAmount") },
        ct("colEndedBy"),
      ]}
    >
      {props.items.map((s) => (
        <tr key={s.id} data-session={s.id}>
          <td class="mono">{s.id}</td>
          <td>{props.linkCps ? <a href={cpHref(s.cp_id)}>{s.cp_id}</a> : s.cp_id}</td>
          <td>{s.driver_id}</td>
          <td>{dateTime(s.started_at)}</td>
          <td>{s.ended_at === null ? ct("stillOpen") : dateTime(s.ended_at)}</td>
          <td class="num">{kwh(s.kwh)}</td>
          <td class="num">{eur(s.eur)}</td>
          <td data-field="end-reason">
            {s.end_reason === null ? "–" : endReasonText(s.end_reason, lang.value)}
          </td>
        </tr>
      ))}
    </ScrollTable>
  );
}

/**
 * The history panel. As the history page it follows `query` (the hash's: Show puts the filters
 * there, so a filtered history is a link and the back button steps back); with `cp` its CP is
 * fixed and Show only reloads (the per-CP page).
 */
export const History = memo(
  function History(props: { cp?: string; query?: string; title?: string }) {
    const fixed = props.cp === undefined ? {} : { cp: props.cp };
    const limit = fromHistoryQuery(props.query ?? "").limit;
    const draft = useSignal<HistoryFilter>({ ...ANY_SESSION, ...fixed });
    const applied = useSignal<URLSearchParams | null>(null);
    const loaded = useSignal<Loaded | null>(null);
    const error = useSignal<string | null>(null);
    const busy = useSignal(false);
    // Answers to an earlier Show are dropped: only the current filters' pages are shown.
    const generation = useRef(0);

    const more = async (cursor: string) => {
      const params = applied.value;
      if (params === null) return;
      const asked = generation.current;
      busy.value = true;
      try {
        const page = await fetchPage(params, cursor, limit);
        if (asked !== generation.current) return;
        const before = cursor === "" ? [] : loaded.value?.items ?? [];
        loaded.value = { items: [...before, ...page.items], next: page.next_cursor };
        error.value = null;
      } catch (e) {
        if (asked === generation.current) error.value = e instanceof Error ? e.message : String(e);
      } finally {
        if (asked === generation.current) busy.value = false;
      }
    };
    const show = (filter: HistoryFilter) => {
      const params = filterParams({ ...filter, ...fixed });
      if (typeof params === "string") {
        error.value = params;
        return;
      }
      generation.current++;
      applied.value = params;
      loaded.value = null;
      more("");
    };
    useEffect(() => {
      draft.value = { ...fromHistoryQuery(props.query ?? "").filter, ...fixed };
      show(draft.value);
    }, [props.cp, props.query]);
    const submit = () => {
      const params = filterParams({ ...draft.value, ...fixed });
      if (props.query !== undefined && typeof params !== "string") {
        const href = routeHref({ page: "history", query: historyQuery(params, limit) });
        if (location.hash !== href) {
          location.hash = href; // the hash change shows it
          return;
        }
      }
      show(draft.value);
    };

    const items = loaded.value?.items ?? [];
    return (
      <Panel title={props.title ?? ct("sessionHistory")}>
        <Filters draft={draft} fixedCp={props.cp} onApply={submit} />
        <p class="history-bar">
          <span data-testid="history-count" aria-live="polite">
            {loaded.value === null ? ct("loading") : countText(items.length, loaded.value.next)}
          </span>
          {applied.value !== null && (
            <a
              class="button"
              href={csvUrl(applied.value)}
              download="sessions.csv"
              data-testid="history-csv"
            >
              {ct("downloadCsv")}
            </a>
          )}
        </p>
        {error.value !== null && <p class="error" role="alert">{error.value}</p>}
        {loaded.value !== null && items.length === 0 && (
          <p class="empty">{ct("noSessionMatches")}</p>
        )}
        {items.length > 0 && <SessionTable items={items} linkCps={props.cp === undefined} />}
        {loaded.value?.next && (
          <button
            type="button"
            data-testid="history-more"
            disabled={busy.value}
            onClick={() => more(loaded.value!.next!)}
          >
            {ct("more", { n: limit })}
          </button>
        )}
      </Panel>
    );
  },
);
