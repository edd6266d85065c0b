/**
 * The alarms page: open alarms first (CP broken or disconnected, weather hold, keys revoked),
 * then the recently cleared ones, each with when it began and when it cleared, live from the
 * `alarm` events; a switch for browser notifications of new alarms, asked for only when the
 * operator clicks it. The per-CP page shows the same table for its CP, and the overview the
 * newest open ones.
 *
 * @module
 */
import { memo } from "preact/compat";
import { useSignal } from "@preact/signals";
import type { Alarm } from "./alarm_list.ts";
import { ct, ctOr, dateTime, said } from "./show.ts";
import { alarms, notifying, setNotifying } from "./ops.ts";
import { cpHref, routeHref } from "./route.ts";
import { Panel, ScrollTable, SearchBox } from "./views.tsx";

/** The table of `items`. */
export function AlarmTable(props: { items: readonly Alarm[]; linkCps: boolean }) {
  if (props.items.length === 0) return <p class="empty">{ct("noAlarm")}</p>;
  return (
    <ScrollTable
      label={ct("alarmsRegion")}
      class="alarms"
      testid="alarm-table"
      columns={[
        ct("colStatus"),
        ct("colCp"),
        ct("colAlarm"),
        ct("colBegan"),
        ct("colCleared"),
        ct("colDetail"),
      ]}
    >
      {props.items.map((a) => (
        <tr
          key={a.id}
          class={a.cleared_at === null ? "alarm-open" : "alarm-cleared"}
          data-alarm={a.id}
          data-alarm-cp={a.cp_id}
          data-kind={a.kind}
          data-open={a.cleared_at === null ? "true" : "false"}
        >
          <td>
            <span class={a.cleared_at === null ? "chip alarm-chip" : "chip"}>
              {ct(a.cleared_at === null ? "alarmOpen" : "alarmCleared")}
            </span>
          </td>
          <td>{props.linkCps ? <a href={cpHref(a.cp_id)}>{a.cp_id}</a> : a.cp_id}</td>
          <td>{ctOr(`kind_${a.kind}`, a.kind)}</td>
          <td>{dateTime(a.began_at)}</td>
          <td>{a.cleared_at === null ? "–" : dateTime(a.cleared_at)}</td>
          <td data-field="detail">{said(a)}</td>
        </tr>
      ))}
    </ScrollTable>
  );
}

function NotifySwitch() {
  const refused = useSignal(false);
  if (typeof Notification === "undefined") return null;
  return (
    <p class="notify">
      <button
        type="button"
        aria-pressed={notifying.value}
        data-testid="alarm-notify"
        onClick={async () => {
          const on = await setNotifying(!notifying.value);
          refused.value = !on && Notification.permission === "denied";
        }}
      >
        {ct("notifyOff")}
      </button>
      {notifying.value && <span>{ct("notifyOn")}</span>}
      {refused.value && <span class="muted">{ct("notifyRefused")}</span>}
    </p>
  );
}

/** Open alarms the overview lists before "all alarms". */
export const OVERVIEW_ALARMS = 5;

/** The overview's strip of open alarms (nothing while none is open). */
export const OpenAlarms = memo(function OpenAlarms() {
  const list = alarms.value;
  if (list.open === 0) return null;
  const open = list.items.slice(0, Math.min(list.open, OVERVIEW_ALARMS));
  return (
    <section
      class="panel open-alarms"
      aria-labelledby="open-alarms-title"
      data-testid="open-alarms"
    >
      <h2 id="open-alarms-title">
        {ct("openAlarms")}
        <span class="count alarm-count open">{list.open}</span>
      </h2>
      <ul class="list">
        {open.map((a) => (
          <li key={a.id} data-alarm={a.id} data-alarm-cp={a.cp_id} data-kind={a.kind}>
            <span class="chip alarm-chip">{ctOr(`kind_${a.kind}`, a.kind)}</span>
            <a href={cpHref(a.cp_id)}>{a.cp_id}</a>
            <span>{ct("since", { time: dateTime(a.began_at) })}</span>
            <span class="muted" data-field="detail">{said(a)}</span>
          </li>
        ))}
      </ul>
      <a href={routeHref({ page: "alarms" })}>
        {list.open > open.length ? ct("allOpenAlarms", { n: list.open }) : ct("allAlarms")}
      </a>
    </section>
  );
});

/** Rows the alarms page shows before "Show all". */
export const ALARM_ROWS = 250;

/** The alarms page. */
export const AlarmsPage = memo(function AlarmsPage() {
  const openOnly = useSignal(false);
  const search = useSignal("");
  const everything = useSignal(false);
  const list = alarms.value;
  const text = search.value.trim().toLowerCase();
  const items = list.items.filter((a) =>
    (!openOnly.value || a.cleared_at === null) &&
    (text === "" || a.cp_id.toLowerCase().includes(text))
  );
  const shown = everything.value ? items : items.slice(0, ALARM_ROWS);
  return (
    <Panel title={ct("alarms")} count={list.open}>
      <div class="filters">
        <SearchBox
          text={search}
          placeholder={ct("searchAlarmsPlaceholder")}
          label={ct("searchAlarms")}
        />
        <label>
          <input
            type="checkbox"
            checked={openOnly.value}
            onChange={(e) => openOnly.value = (e.target as HTMLInputElement).checked}
          />{" "}
          {ct("openOnly")}
        </label>
      </div>
      <NotifySwitch />
      <AlarmTable items={shown} linkCps />
      {shown.length < items.length && (
        <button type="button" onClick={() => everything.value = true}>
          {ct("showAll", { n: items.length, more: items.length - shown.length })}
        </button>
      )}
    </Panel>
  );
});
