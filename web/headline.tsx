/**
 * The headline figures of Central's `GET /summary`: kW now, kWh and € today, sessions today,
 * and availability (the share of CP-time neither BROKEN nor DISCONNECTED), each a labelled
 * figure.
 *
 * @module
 */
import { memo } from "preact/compat";
import { ct, dateTime, eur, kw, kwh, pct } from "./show.ts";
import { summary } from "./ops.ts";

function Figure(props: { label: string; value: string; note?: string; field: string }) {
  return (
    <div class="figure" data-figure={props.field}>
      <dt>{props.label}</dt>
      <dd>
        <span class="value">{props.value}</span>
        {props.note && <span class="note">{props.note}</span>}
      </dd>
    </div>
  );
}

/** The network's headline figures (nothing until the first `GET /summary` answered). */
export const Headline = memo(function Headline() {
  const s = summary.value;
  if (s === null) return null;
  return (
    <section class="panel headline" aria-labelledby="headline-title" data-testid="headline">
      <h2 id="headline-title">{ct("today")}</h2>
      <dl class="figures-row">
        <Figure field="kw_now" label={ct("powerNow")} value={kw(s.kw_now)} />
        <Figure field="kwh_today" label={ct("energyToday")} value={kwh(s.kwh_today)} />
        <Figure field="eur_today" label={ct("revenueToday")} value={eur(s.eur_today)} />
        <Figure
          field="sessions_today"
          label={ct("sessionsToday")}
          value={String(s.sessions_today)}
          note={ct("nOpen", { n: s.sessions_active })}
        />
        <Figure
          field="availability"
          label={ct("availability")}
          value={pct(s.availability_pct)}
          note={ct("since", { time: dateTime(s.availability_since) })}
        />
      </dl>
    </section>
  );
});
