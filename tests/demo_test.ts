/**
 * The scenarios of docs/DEMO.md on a real network (infra/network.ts: real processes, a real
 * broker, TLS to the project CA): each step is done as the guide says, through the keys of
 * `deno task cp` (the same the local supervisor types), the commands of an interactive
 * `deno task driver`, Central's REST API, the weather office's API and `deno task audit:verify`;
 * what an evaluator would see is read from Central's REST API, the dashboard's snapshot and the
 * audit log. Most rows walk one network in turn, each a test step that waits for what it shows.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type CpPlan, type LocalNetwork, type Service, waitUntil } from "../infra/network.ts";
import { centralGroupAtEnd, uniqueName } from "./kafka_env.ts";
import {
  fastCp,
  integrationTest,
  inTempDir,
  startSupervisedNetwork,
  startTestNetwork,
} from "./network_test_support.ts";

/** The CP as the dashboard's snapshot shows it. */
async function snapshotCp(net: LocalNetwork, id: string): Promise<Record<string, unknown>> {
  const snapshot = await net.api.get<{ cps: Record<string, unknown>[] }>("/snapshot");
  const found = snapshot.cps.find((c) => c.id === id);
  assert.ok(found, `${id} in the snapshot`);
  return found;
}

/** Count of `[cp] <name> <what>` lines `deno task cp` printed so far. */
function cpLines(service: Service, name: string, what: string): number {
  return service.lines.filter((l) => l.startsWith(`[cp] ${name} ${what}`)).length;
}

integrationTest(
  "demo: under deno task cp a killed engine turns the CP red within 2 s, the monitor " +
    "lives on, and a restarted engine makes it green again without a new login",
  () =>
    inTempDir("demo_", async (dir) => {
      const id = uniqueName("CP-DEMO");
      const net = await startTestNetwork(dir, {
        centralArgs: ["--group", await centralGroupAtEnd("demo-engine")],
        cps: [fastCp(id)],
      });
      try {
        const service = net.cps.get(id)!;
        const before = await net.waitForCp(id, (c) => c.state === "ACTIVATED");
        const monitorStarts = cpLines(service, "monitor", "started");

        await service.type("k");
        await service.waitForLine("the engine's end", (l) => l.startsWith("[cp] engine exited"));
        const died = Date.now();
        await net.waitForCp(id, (c) => c.state === "BROKEN", 2000);
        const redAfterMs = Date.now() - died;
        assert.ok(redAfterMs <= 2000, `BROKEN after ${redAfterMs} ms`);
        assert.equal((await snapshotCp(net, id)).state, "BROKEN");
        assert.equal(cpLines(service, "monitor", "exited"), 0, "the monitor lives on");

        await service.type("e");
        const after = await net.waitForCp(id, (c) => c.state === "ACTIVATED");
        assert.equal(after.key_version, before.key_version, "the same key: no new login");
        assert.equal(cpLines(service, "monitor", "started"), monitorStarts, "the same monitor");
        assert.equal((await snapshotCp(net, id)).state, "ACTIVATED");
      } finally {
        await net.stop();
      }
    }),
);

/** A network run as `deno task start` runs it: with the supervisor API Central forwards to. */
async function supervisedNetwork(dir: string, cps: CpPlan[]) {
  const { net, supervisor, adminToken: token } = await startSupervisedNetwork(dir, {
    centralArgs: ["--group", await centralGroupAtEnd("demo")],
    cps,
  });
  /** A dashboard admin button: `POST /local/cps/{id}/<action>` at Central. */
  const click = async (id: string, action: string) => {
    const res = await fetch(`${net.centralUrl}/local/cps/${id}/${action}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
    const body = await res.json();
    assert.equal(res.status, 200, `${action}: ${JSON.stringify(body)}`);
    return body as Record<string, unknown>;
  };
  /** The newest audit records of `action`. */
  const audit = async (action: string) =>
    (await net.api.get<{ items: Record<string, unknown>[] }>(
      `/audit?action=${encodeURIComponent(action)}`,
    )).items;
  const stop = async () => {
    await supervisor.shutdown();
    await net.stop();
  };
  return { net, click, audit, stop };
}

integrationTest(
  "demo: the dashboard's buttons fault and repair a CP, and a killed monitor leaves the " +
    "engine supplying under DISCONNECTED until its restart picks the session up",
  () =>
    inTempDir("demo_", async (dir) => {
      const id = uniqueName("CP-DEMO");
      // 22 kW at speed 60: 0.37 kWh a second; 30 kWh lasts the whole scenario.
      const { net, click, audit, stop } = await supervisedNetwork(dir, [
        fastCp(id, ["--target-kwh", "30"]),
      ]);
      try {
        await net.waitForCp(id, (c) => c.state === "ACTIVATED");

        assert.equal((await click(id, "fault")).faulty, true);
        await net.waitForCp(id, (c) => c.state === "BROKEN");
        assert.equal((await snapshotCp(net, id)).state, "BROKEN");
        assert.equal((await click(id, "repair")).faulty, false);
        await net.waitForCp(id, (c) => c.state === "ACTIVATED");
        const faults = await audit("local_cp.fault");
        assert.equal(faults.length, 1);
        assert.deepEqual([faults[0].actor, faults[0].outcome], ["admin", "ok"]);
        assert.deepEqual(faults[0].params, { cpId: id });

        const file = join(dir, "plan.txt");
        await Deno.writeTextFile(file, `${id}\n`);
        const driverId = uniqueName("DRV");
        await net.startDriver({ id: driverId, file });
        const supplying = await net.waitForCp(id, (c) => c.state === "SUPPLYING" && !!c.kwh);

        assert.equal((await click(id, "kill-monitor")).monitor_running, false);
        const cut = await net.waitForCp(id, (c) => c.state === "DISCONNECTED");
        // Telemetry goes on over Kafka: the engine keeps supplying the same driver.
        await net.waitForCp(
          id,
          (c) => c.state === "DISCONNECTED" && (c.kwh ?? 0) > (cut.kwh ?? 0),
        );

        assert.equal((await click(id, "restart-monitor")).monitor_running, true);
        const back = await net.waitForCp(id, (c) => c.state === "SUPPLYING");
        assert.equal(back.driver_id, driverId, "the same session, reconciled");
        assert.ok((back.kwh ?? 0) > (supplying.kwh ?? 0));
        assert.equal((await snapshotCp(net, id)).state, "SUPPLYING");
        assert.equal((await audit("local_cp.kill_monitor")).length, 1);
      } finally {
        await stop();
      }
    }),
);

// --------------------------------------------------------------------------------------------
// One network walks the guide's rows in turn.

/** What the walk shares: the network, its two CPs and one interactive driver. */
interface Walk {
  readonly net: LocalNetwork;
  readonly dir: string;
  /** In Valencia; `deno task cp` as at a keyboard: the vehicle plugs in only with `p`. */
  readonly keyboard: string;
  /** In Murcia; plugs in by itself and stops at 1 kWh (the file driver's CP). */
  readonly auto: string;
  /** `deno task driver <broker> <id>` without a file: commands one a line on its input. */
  readonly driver: Service;
  readonly driverId: string;
  readonly adminToken: string;
  /** `GET /audit?action=…` (newest first), of one driver's requests if `driverId` is given. */
  audit(action: string, driverId?: string): Promise<AuditEntry[]>;
}

interface AuditEntry {
  readonly ts: string;
  readonly origin_ip?: string;
  readonly actor: string;
  readonly action: string;
  readonly params: Record<string, unknown>;
  readonly outcome: string;
}

interface SessionView {
  readonly id: string;
  readonly cp_id: string;
  readonly driver_id: string;
  readonly kwh: number;
  readonly end_reason: string | null;
}

/** The driver's events of `kind` logged after record `from`, as their fields. */
function driverEvents(driver: Service, kind: string, from = 0): Record<string, unknown>[] {
  return driver.records.slice(from)
    .filter((r) => r.logger === "evcharging.driver")
    .map((r) => r.properties as Record<string, unknown>)
    .filter((p) => p?.kind === kind);
}

/** Waits for the driver's first event of `kind` after record `from`. */
function nextEvent(driver: Service, kind: string, from: number, timeoutMs = 30_000) {
  return waitUntil(`${driver.name}: ${kind}`, () => driverEvents(driver, kind, from)[0], timeoutMs);
}

/** Waits for a line of the CP's engine, after record `from`, whose message `match` accepts. */
function engineSaid(cp: Service, from: number, match: RegExp) {
  return waitUntil(
    `${cp.name}: the engine saying ${match}`,
    () =>
      cp.records.slice(from).find((r) => r.source === "engine" && match.test(String(r.message))),
  );
}

/**
 * The guide's manual charge: the CP id typed into the driver, then (the keyboard CP) `p` once
 * the engine holds the authorization; resolves once Central shows it `SUPPLYING` with energy.
 * The session is read from Central, not from the driver: on a broker other networks share, a
 * Central that does not know the CP may answer the driver first (`unknown_cp`); the driver then
 * follows the session from its first figures.
 */
async function charge(w: Walk, cpId: string): Promise<{ from: number; sessionId: string }> {
  const from = w.driver.records.length;
  const cp = w.net.cps.get(cpId)!;
  const cpFrom = cp.records.length;
  await w.driver.type(`${cpId}\n`);
  const { id: sessionId } = await waitUntil(
    `a session of ${w.driverId} at ${cpId}`,
    async () =>
      (await w.net.api.get<SessionView[]>("/sessions?status=active")).find((s) =>
        s.driver_id === w.driverId && s.cp_id === cpId
      ),
  );
  if (cpId === w.keyboard) {
    await engineSaid(cp, cpFrom, new RegExp(`authorized session ${sessionId}`));
    await cp.type("p");
  }
  await w.net.waitForCp(
    cpId,
    (c) => c.state === "SUPPLYING" && c.driver_id === w.driverId && (c.kwh ?? 0) > 0,
  );
  // The driver shows the session: from Central's AUTHORIZED, or else from its first figures.
  await waitUntil(
    `${w.driver.name} to follow ${sessionId}`,
    () =>
      [...driverEvents(w.driver, "authorized", from), ...driverEvents(w.driver, "supply", from)]
        .find((e) => e.sessionId === sessionId && e.followed !== false),
  );
  return { from, sessionId };
}

/** Types `cpId` into the driver and returns the reason this Central denied it with. */
async function deniedReason(w: Walk, cpId: string): Promise<unknown> {
  const denials = () => w.audit("charge.denied", w.driverId);
  const seen = new Set((await denials()).map((r) => r.params.requestId));
  await w.driver.type(`${cpId}\n`);
  const denial = await waitUntil(
    `this Central's denial at ${cpId}`,
    async () =>
      (await w.audit("charge.denied")).find((r) =>
        r.params.driverId === w.driverId && r.params.cpId === cpId && !seen.has(r.params.requestId)
      ),
  );
  return denial.params.reason;
}

/** The driver's ticket for `sessionId`, once it arrives. */
async function ticketOf(w: Walk, sessionId: string, from: number) {
  return await waitUntil(
    `the ticket of ${sessionId}`,
    () => driverEvents(w.driver, "ticket", from).find((t) => t.sessionId === sessionId),
  );
}

async function startWalk(dir: string): Promise<Walk> {
  const keyboard = uniqueName("CP-KEYS");
  const auto = uniqueName("CP-AUTO");
  const net = await startTestNetwork(dir, {
    centralArgs: ["--group", await centralGroupAtEnd("demo-walk")],
    // Cities the simulated weather never takes below 0 °C: only the walk's own alert stops one.
    cps: [
      { ...fastCp(keyboard), location: "Valencia", headless: false },
      { ...fastCp(auto, ["--target-kwh", "1"]), location: "Murcia" },
    ],
    weather: { args: ["--interval", "500ms"] },
  });
  const driverId = uniqueName("DRV");
  const driver = await net.startDriver({ id: driverId });
  const walk: Walk = {
    net,
    dir,
    keyboard,
    auto,
    driver,
    driverId,
    adminToken: (await Deno.readTextFile(net.adminTokenFile)).trim(),
    audit: async (action, driver) => {
      const actor = driver === undefined ? "" : `&actor=driver:${encodeURIComponent(driver)}`;
      const query = `/audit?action=${encodeURIComponent(action)}${actor}&limit=500`;
      return (await net.api.get<{ items: AuditEntry[] }>(query)).items;
    },
  };
  // A fresh consumer group reads every request the shared broker ever carried: once this
  // Central denies the driver's first request, it reads the driver's partition live.
  assert.equal(await deniedReason(walk, "CP-NOPE-404"), "unknown_cp");
  await driver.type("l\n"); // the guide's first key: the list of CPs
  await nextEvent(driver, "cp_list", 0);
  return walk;
}

/** Asserts what the dashboard's snapshot shows of `id` (the same model as `GET /cps`). */
async function assertSnapshot(w: Walk, id: string, fields: Record<string, unknown>) {
  const cp = await snapshotCp(w.net, id);
  assert.deepEqual(Object.fromEntries(Object.keys(fields).map((k) => [k, cp[k]])), fields);
}

/** Audit records of `action` about `cpId` (newest first). */
async function auditOf(w: Walk, action: string, cpId: string): Promise<AuditEntry[]> {
  return (await w.audit(action)).filter((r) => r.params.cpId === cpId);
}

async function manualCharge(w: Walk): Promise<void> {
  const { from, sessionId } = await charge(w, w.keyboard);
  await assertSnapshot(w, w.keyboard, { state: "SUPPLYING", driver_id: w.driverId });
  await w.net.cps.get(w.keyboard)!.type("u");
  const ticket = await ticketOf(w, sessionId, from);
  assert.equal(ticket.endReason, "unplugged");
  assert.ok(Number(ticket.kwh) > 0 && Number(ticket.eur) > 0, JSON.stringify(ticket));
  assert.equal(typeof ticket.seconds, "number");
  await w.net.waitForCp(w.keyboard, (c) => c.state === "ACTIVATED" && c.driver_id === null);
  await assertSnapshot(w, w.keyboard, { state: "ACTIVATED" });
  const authorized = await auditOf(w, "charge.authorized", w.keyboard);
  assert.deepEqual(authorized.map((r) => r.params.sessionId), [sessionId]);
  const tickets = await auditOf(w, "session.ticket", w.keyboard);
  assert.deepEqual(tickets.map((r) => [r.params.sessionId, r.params.endReason]), [
    [sessionId, "unplugged"],
  ]);
}

async function chargeFromFile(w: Walk): Promise<void> {
  const file = join(w.dir, "commuter.txt");
  await Deno.writeTextFile(file, `# one CP id a line\nCP-NOPE-404\n${w.auto}\n`);
  const driverId = uniqueName("DRV-FILE");
  const driver = await w.net.startDriver({ id: driverId, file, args: ["--pause", "500ms"] });
  assert.equal((await driver.waitForExit()).code, 0, `driver log: ${driver.logFile}`);
  const mine = (r: AuditEntry) => r.params.driverId === driverId;
  const denied = await w.audit("charge.denied", driverId);
  assert.deepEqual(denied.map((r) => [r.params.cpId, r.params.reason]), [
    ["CP-NOPE-404", "unknown_cp"],
  ]);
  const [authorized] = await w.audit("charge.authorized", driverId);
  assert.equal(authorized?.params.cpId, w.auto);
  const sessionId = authorized.params.sessionId;
  const session = await waitUntil(
    "the file's session to end",
    async () =>
      (await w.net.api.get<SessionView[]>("/sessions?status=completed&limit=100"))
        .find((s) => s.id === sessionId),
  );
  assert.equal(session.end_reason, "target_reached");
  const billed = (await w.audit("session.ticket")).filter(mine);
  assert.deepEqual(billed.map((r) => r.params.sessionId), [sessionId]);
  // One line, one outcome; the ticket is the driver's unless a Central that does not know the CP
  // answered first on the shared broker (then it counts a second denial).
  const summary = driverEvents(driver, "finished")[0];
  assert.equal(Number(summary.tickets) + Number(summary.denials), 2);
  const [ticket] = driverEvents(driver, "ticket");
  if (ticket !== undefined) {
    assert.deepEqual([ticket.sessionId, ticket.kwh], [sessionId, session.kwh]);
  }
  await w.net.waitForCp(w.auto, (c) => c.state === "ACTIVATED");
}

async function stopAndResumeOne(w: Walk): Promise<void> {
  const { from, sessionId } = await charge(w, w.keyboard);
  await w.net.api.post(`/cps/${w.keyboard}/stop`);
  await w.net.waitForCp(w.keyboard, (c) => c.state === "STOPPED" && c.stop_reason === "admin");
  await assertSnapshot(w, w.keyboard, { state: "STOPPED", stop_reason: "admin" });
  assert.equal((await ticketOf(w, sessionId, from)).endReason, "stopped_admin");
  await w.net.api.post(`/cps/${w.keyboard}/resume`);
  await w.net.waitForCp(w.keyboard, (c) => c.state === "ACTIVATED");
  await assertSnapshot(w, w.keyboard, { state: "ACTIVATED", stop_reason: null });
  for (const action of ["cp.stop", "cp.resume"]) {
    const [record] = await auditOf(w, action, w.keyboard);
    assert.deepEqual([record?.actor, record?.outcome], ["admin", "ok"], action);
  }
}

async function stopAndResumeAll(w: Walk): Promise<void> {
  const { from, sessionId } = await charge(w, w.keyboard);
  await w.net.api.post("/cps/stop");
  for (const id of [w.keyboard, w.auto]) {
    await w.net.waitForCp(id, (c) => c.state === "STOPPED" && c.stop_reason === "admin");
    await assertSnapshot(w, id, { state: "STOPPED", stop_reason: "admin" });
  }
  assert.equal((await ticketOf(w, sessionId, from)).endReason, "stopped_admin");
  await w.net.api.post("/cps/resume");
  for (const id of [w.keyboard, w.auto]) {
    await w.net.waitForCp(id, (c) => c.state === "ACTIVATED");
    await assertSnapshot(w, id, { state: "ACTIVATED", stop_reason: null });
  }
  for (const action of ["cp.stop", "cp.resume"]) {
    const [record] = await auditOf(w, action, "*");
    assert.deepEqual([record?.actor, record?.outcome], ["admin", "ok"], action);
  }
}

async function weatherAlertAndClear(w: Walk): Promise<void> {
  const serviceKey = (await Deno.readTextFile(join(w.dir, "weather_service.key"))).trim();
  /** The guide's `curl -X PUT …/simulated/Valencia`, as the office's menu `t` does it. */
  const hold = async (temperature: number) => {
    const res = await fetch(`${w.net.weatherUrl}/simulated/Valencia`, {
      method: "PUT",
      headers: { authorization: `Bearer ${serviceKey}`, "content-type": "application/json" },
      body: JSON.stringify({ temperature }),
    });
    assert.equal(res.status, 200, await res.text());
  };
  const { from, sessionId } = await charge(w, w.keyboard);
  await hold(-3);
  await w.net.waitForCp(w.keyboard, (c) => c.state === "STOPPED" && c.stop_reason === "weather");
  await assertSnapshot(w, w.keyboard, { state: "STOPPED", stop_reason: "weather" });
  assert.equal((await ticketOf(w, sessionId, from)).endReason, "stopped_weather");
  await assertSnapshot(w, w.auto, { state: "ACTIVATED" }); // Murcia is warm
  assert.equal(await deniedReason(w, w.keyboard), "weather");
  await hold(20);
  await w.net.waitForCp(w.keyboard, (c) => c.state === "ACTIVATED");
  await assertSnapshot(w, w.keyboard, { state: "ACTIVATED", stop_reason: null });
  const [alert] = await auditOf(w, "weather.alert", w.keyboard);
  assert.deepEqual([alert?.params.city, alert?.params.temperatureC], ["Valencia", -3]);
  assert.equal((await auditOf(w, "weather.clear", w.keyboard))[0]?.params.temperatureC, 20);
}

async function driverCancels(w: Walk): Promise<void> {
  const { from, sessionId } = await charge(w, w.keyboard);
  await w.driver.type("x\n");
  const ticket = await ticketOf(w, sessionId, from);
  assert.equal(ticket.endReason, "driver_cancelled");
  assert.ok(Number(ticket.kwh) > 0, "the figures so far");
  await w.net.waitForCp(w.keyboard, (c) => c.state === "ACTIVATED");
  await assertSnapshot(w, w.keyboard, { state: "ACTIVATED" });
  const [cancelled] = await auditOf(w, "charge.cancelled", w.keyboard);
  assert.equal(cancelled?.params.sessionId, sessionId);
  assert.equal(cancelled?.params.origin, "self_reported");
  assert.ok(cancelled?.origin_ip, "the driver's own address");
  assert.deepEqual(
    (await auditOf(w, "session.ticket", w.keyboard)).find((r) => r.params.sessionId === sessionId)
      ?.params.endReason,
    "driver_cancelled",
  );
  // With no charge open there is nothing to cancel: the driver says so and sends nothing.
  const again = w.driver.records.length;
  await w.driver.type("x\n");
  assert.match(String((await nextEvent(w.driver, "refused", again)).detail), /no charge/);
}

async function centralCrashDuringCharge(w: Walk): Promise<void> {
  const { from, sessionId } = await charge(w, w.keyboard);
  const cp = w.net.cps.get(w.keyboard)!;
  const logins = (await auditOf(w, "cp.login", w.keyboard)).length;
  const before = await w.net.waitForCp(w.keyboard, (c) => c.state === "SUPPLYING");
  const cpFrom = cp.records.length;
  w.net.central.kill("SIGKILL");
  await w.net.central.waitForExit();
  // The CP notices and keeps supplying; the car leaves while Central is still down.
  await waitUntil(
    "the monitor to find Central gone",
    () =>
      cp.records.slice(cpFrom).find((r) =>
        r.source === "monitor" && /Central (unreachable|.*lost)/.test(String(r.message))
      ),
  );
  await cp.type("u");
  await engineSaid(cp, cpFrom, /vehicle unplugged/);
  await w.net.restartCentral();

  const ticket = await ticketOf(w, sessionId, from);
  assert.equal(ticket.endReason, "unplugged");
  assert.ok(Number(ticket.kwh) > (before.kwh ?? 0), "the figures caught up from Kafka");
  // The monitors log in again by themselves.
  await w.net.waitForCp(w.keyboard, (c) => c.state === "ACTIVATED", 60_000);
  await w.net.waitForCp(w.auto, (c) => c.state === "ACTIVATED", 60_000);
  assert.ok((await auditOf(w, "cp.login", w.keyboard)).length > logins, "a new login");
  const completed = await w.net.api.get<SessionView[]>("/sessions?status=completed&limit=100");
  const billed = completed.filter((s) => s.id === sessionId);
  assert.deepEqual(billed.map((s) => [s.end_reason, s.kwh]), [["unplugged", ticket.kwh]]);
  assert.equal(
    (await auditOf(w, "session.ticket", w.keyboard)).filter((r) => r.params.sessionId === sessionId)
      .length,
    1,
    "billed once",
  );
  assert.equal(
    driverEvents(w.driver, "ticket", from).filter((t) => t.sessionId === sessionId).length,
    1,
    "one ticket",
  );
}

async function deregisterFromManager(w: Walk): Promise<void> {
  const { from, sessionId } = await charge(w, w.keyboard);
  const cp = w.net.cps.get(w.keyboard)!;
  const cpFrom = cp.records.length;
  const asked = performance.now();
  await w.net.api.post(`/registry/cps/${w.keyboard}/deregister`);
  assert.equal((await ticketOf(w, sessionId, from)).endReason, "deregistered");
  const ticketedMs = Math.round(performance.now() - asked);
  const view = await w.net.waitForCp(
    w.keyboard,
    (c) => (c as unknown as { deregistered_at: string | null }).deregistered_at !== null,
  );
  assert.deepEqual([view.state, view.key_version], ["DISCONNECTED", null]);
  const shown = await snapshotCp(w.net, w.keyboard);
  assert.equal(shown.state, "DISCONNECTED");
  assert.ok(shown.deregistered_at, "the dashboard's DEREGISTERED chip");
  await waitUntil(
    "the monitor to stop for good",
    () =>
      cp.records.slice(cpFrom).find((r) =>
        r.source === "monitor" && /deregistered.*not retrying/.test(String(r.message))
      ),
  );
  assert.equal(await deniedReason(w, w.keyboard), "deregistered");
  const [manager] = await auditOf(w, "registry.deregister", w.keyboard);
  assert.deepEqual([manager?.actor, manager?.outcome], ["admin", "ok"]);
  assert.equal((await auditOf(w, "cp.deregistered", w.keyboard)).length, 1);
  console.log(`demo: deregistered → ticket in ${ticketedMs} ms`);
}

/** `deno task audit:verify <args>` from the repository: its exit code and output. */
async function auditVerify(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "audit:verify", ...args],
    cwd: join(import.meta.dirname!, ".."),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

async function auditInspectAndVerify(w: Walk): Promise<void> {
  const stops = await w.audit("cp.stop");
  assert.ok(stops.length >= 2);
  for (const r of stops) {
    assert.ok(!Number.isNaN(Date.parse(r.ts)), r.ts);
    assert.deepEqual([r.origin_ip, r.actor, r.outcome], ["127.0.0.1", "admin", "ok"]);
    assert.ok(typeof r.params.cpId === "string");
  }
  const file = join(w.dir, "audit.jsonl");
  const all = await Deno.readTextFile(file);
  const secrets = [
    w.adminToken,
    (await Deno.readTextFile(join(w.dir, "registry_admin.key"))).trim(),
    (await Deno.readTextFile(join(w.dir, "weather_service.key"))).trim(),
  ];
  for (const secret of secrets) assert.ok(!all.includes(secret), "a secret in the audit log");

  const ok = await auditVerify(file);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /^OK: \d+ records, head \d+\/[0-9a-f]{12}/);
  assert.match(ok.stdout, /checkpoint: seq \d+ signed .* is in the log/);

  const copy = join(w.dir, "tampered");
  await Deno.mkdir(copy);
  const lines = all.split("\n");
  lines[1] = lines[1].replace(/"actor":"[^"]*"/, '"actor":"someone-else"');
  await Deno.writeTextFile(join(copy, "audit.jsonl"), lines.join("\n"));
  const bad = await auditVerify(join(copy, "audit.jsonl"), "--no-checkpoint");
  assert.equal(bad.code, 1, bad.stdout + bad.stderr);
  assert.match(bad.stdout, /^FAIL at record 2 /);
}

Deno.test({
  name: "demo: one network walks the guide's rows: a manual charge, a charge from a file, stop " +
    "and resume one CP and all, a weather alert, a driver's cancel, Central's crash mid-charge, " +
    "a deregistration from the CP manager, and the audit read and verified",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: (t) =>
    inTempDir("demo_", async (dir) => {
      const w = await startWalk(dir);
      try {
        const rows: [string, (w: Walk) => Promise<void>][] = [
          ["manual charge: requested, plugged in with p, unplugged with u, ticketed", manualCharge],
          ["charge from a file: a denial, a ticket and a summary", chargeFromFile],
          ["stop and resume one CP: STOPPED admin, ticket stopped_admin", stopAndResumeOne],
          ["stop and resume all: every CP STOPPED admin, then green", stopAndResumeAll],
          ["weather alert and clear through the office: STOPPED weather", weatherAlertAndClear],
          ["driver cancels: ticket driver_cancelled, audit with its address", driverCancels],
          ["Central crash mid-charge: one ticket, billed once", centralCrashDuringCharge],
          ["deregister from the CP manager: ticket, logged out, denied", deregisterFromManager],
          ["audit inspection and deno task audit:verify", auditInspectAndVerify],
        ];
        for (const [name, row] of rows) {
          // Each row starts where the one before left the network: stop at the first failure.
          if (!await t.step(name, () => row(w))) throw new Error(`the row "${name}" failed`);
        }
      } finally {
        await w.net.stop();
      }
    }),
});
