/**
 * One CP's page (`#/cp/<id>`, linked from its tile): its state and figures, its security
 * (status, key version, last login, failed logins, from `GET /security/{id}`, read again when
 * its keys or status change), its alarms, its chart, its sessions (the history table with the
 * CP fixed), its audit records, and in admin mode its actions.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { adminToken } from "./admin.ts";
import { CpActions } from "./admin_views.tsx";
import { AlarmTable } from "./alarms.tsx";
import { PowerChart } from "./charts.tsx";
import { cpAudit } from "./cp_audit.ts";
import { fmt, lang } from "./lang.ts";
import { KEY_REVOKED_WORD, stateText } from "../shared/vocabulary.ts";
import { ct, ctOr, dateTime, eur, kw, kwh } from "./show.ts";
import { History } from "./history.tsx";
import { alarms } from "./ops.ts";
import type { AuditView, CpView, DashboardState } from "./state.ts";
import { Panel, ScrollTable } from "./views.tsx";

/** `GET /security/{id}`. */
interface SecurityView {
  readonly status: string;
  readonly reason: string | null;
  readonly changed_at: string | null;
  readonly key_version: number | null;
  readonly last_login: string | null;
  readonly failed_logins: number;
  readonly revoked_at: string | null;
}

async function getJson<T>(path: string): Promise<T | null> {
  try {
    const res = await fetch(path, { cache: "no-store" });
    return res.ok ? await res.json() as T : null;
  } catch {
    return null;
  }
}

function Facts(props: { cp: CpView }) {
  const { cp } = props;
  return (
    <Panel title={ct("stateTitle")}>
      <dl class="facts" data-testid="cp-facts">
        <dt>{ct("factState")}</dt>
        <dd data-field="state">
          <span class={`count-chip s-${cp.state.toLowerCase()}`}>
            {stateText({ state: cp.state, stopReason: cp.stop_reason }, lang.value)}
          </span>
        </dd>
        <dt>{ct("factCity")}</dt>
        <dd>{cp.location}</dd>
        <dt>{ct("factRated")}</dt>
        <dd>{kw(cp.power_kw)}</dd>
        <dt>{ct("factPrice")}</dt>
        <dd>{fmt().pricePerKwh(cp.price_eur_kwh)}</dd>
        <dt>{ct("factDriver")}</dt>
        <dd>{cp.driver_id ?? "–"}</dd>
        <dt>{ct("factPowerNow")}</dt>
        <dd data-field="kw">{kw(cp.kw)}</dd>
        <dt>{ct("factSession")}</dt>
        <dd>{kwh(cp.kwh)} · {eur(cp.eur)}</dd>
        <dt>{ct("factLastSeen")}</dt>
        <dd>{dateTime(cp.last_seen)}</dd>
        {cp.key_revoked && (
          <>
            <dt>{KEY_REVOKED_WORD[lang.value]}</dt>
            <dd data-field="key-revoked">
              {ct("keyRevokedSince", { time: dateTime(cp.key_revoked_at) })}
            </dd>
          </>
        )}
        {cp.deregistered_at !== null && (
          <>
            <dt>{ct("factDeregistered")}</dt>
            <dd>{dateTime(cp.deregistered_at)}</dd>
          </>
        )}
      </dl>
    </Panel>
  );
}

function Security(props: { cp: CpView }) {
  const { cp } = props;
  const view = useSignal<SecurityView | null>(null);
  useEffect(() => {
    getJson<SecurityView>(`/security/${encodeURIComponent(cp.id)}`).then((v) => view.value = v);
  }, [cp.id, cp.key_version, cp.security, cp.state, cp.key_revoked]);
  const v = view.value;
  return (
    <Panel title={ct("security")}>
      {v === null
        ? <p class="empty">{ct("loading")}</p>
        : (
          <dl class="facts" data-testid="cp-security">
            <dt>{ct("secStatus")}</dt>
            <dd data-field="security">
              {ctOr(`sec_${v.status}`, v.status)}
              {v.reason ? ` (${v.reason})` : ""}
            </dd>
            <dt>{ct("secKeyVersion")}</dt>
            <dd data-field="key-version">{v.key_version ?? ct("secNoKey")}</dd>
            <dt>{ct("secLogin")}</dt>
            <dd data-field="login">
              {ct(cp.state === "DISCONNECTED" || v.key_version === null ? "loggedOut" : "loggedIn")}
              {v.last_login !== null && `, ${ct("lastLogin", { time: dateTime(v.last_login) })}`}
            </dd>
            <dt>{ct("secFailed")}</dt>
            <dd>{v.failed_logins}</dd>
            {v.revoked_at !== null && (
              <>
                <dt>{ct("secRevoked")}</dt>
                <dd>{dateTime(v.revoked_at)}</dd>
              </>
            )}
          </dl>
        )}
    </Panel>
  );
}

function AuditRows(props: { id: string; live: readonly AuditView[] }) {
  const fetched = useSignal<readonly AuditView[]>([]);
  useEffect(() => {
    getJson<{ items: AuditView[] }>("/audit?limit=1000").then((body) =>
      fetched.value = body?.items ?? []
    );
  }, [props.id]);
  const records = cpAudit(props.id, [fetched.value, props.live]);
  return (
    <Panel title={ct("audit")} count={records.length}>
      {records.length === 0 ? <p class="empty">{ct("noCpAudit")}</p> : (
        <ScrollTable
          label={ct("auditRegion")}
          class="audit"
          testid="cp-audit"
          columns={[
            ct("colTime"),
            ct("colActor"),
            ct("colAction"),
            ct("colOutcome"),
            ct("colDetails"),
          ]}
        >
          {records.map((r) => (
            <tr key={r.seq}>
              <td>{dateTime(r.ts)}</td>
              <td>{r.actor}</td>
              <td>{r.action}</td>
              <td>{ctOr(`outcome_${r.outcome}`, r.outcome)}</td>
              <td class="params">
                {Object.entries(r.params).map(([k, v]) => `${k}=${v}`).join(" ")}
              </td>
            </tr>
          ))}
        </ScrollTable>
      )}
    </Panel>
  );
}

/** The page of CP `id`. */
export function CpPage(props: { id: string; state: DashboardState }) {
  const cp = props.state.cps[props.id];
  if (cp === undefined) {
    return (
      <section class="panel" data-testid="cp-detail">
        <h2>{props.id}</h2>
        <p class="empty">{ct("unknownCp", { id: props.id })}</p>
        <a href="#/">{ct("backToOverview")}</a>
      </section>
    );
  }
  const cpAlarms = alarms.value.items.filter((a) => a.cp_id === cp.id);
  return (
    <div class="cp-page" data-testid="cp-detail" data-cp-page={cp.id} data-state={cp.state}>
      <nav class="crumbs" aria-label={ct("breadcrumb")}>
        <a href="#/">{ct("overview")}</a> › <span aria-current="page">{cp.id}</span>
      </nav>
      <h2 class="page-title">
        {cp.id} <span class="where">{cp.location}</span>
      </h2>
      {adminToken.value !== null && (
        <Panel title={ct("actions")}>
          <CpActions cp={cp} />
        </Panel>
      )}
      <div class="columns">
        <Facts cp={cp} />
        <Security cp={cp} />
      </div>
      <Panel title={ct("powerAndEnergy")}>
        <PowerChart cp={cp.id} title={cp.id} />
      </Panel>
      <Panel title={ct("alarms")} count={cpAlarms.filter((a) => a.cleared_at === null).length}>
        <AlarmTable items={cpAlarms} linkCps={false} />
      </Panel>
      <History cp={cp.id} title={ct("sessionsLabel")} />
      <AuditRows id={cp.id} live={props.state.audit} />
    </div>
  );
}
