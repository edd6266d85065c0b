import assert from "node:assert/strict";
import type { CpPlan } from "./network.ts";
import { createSupervisorApp, type LocalCpHost, type LocalCpProcess } from "./supervisor_api.ts";
import { MAX_BODY_BYTES } from "../shared/http_api.ts";
import { type CpChildren, foldCpLine } from "./local_cp_control.ts";
import { credentialsPath, readCredentials, writeCredentials } from "../shared/cp_credentials.ts";

const TOKEN = "test-admin-token-0123456789";
const AUTH = { authorization: `Bearer ${TOKEN}` };

/** The line `deno task cp` prints when it gets `key` (cp/main.ts), given its state. */
function reaction(key: string, state: CpChildren): string {
  const record = (message: string) => `[engine] ${JSON.stringify({ message })}`;
  switch (key) {
    case "k":
      return "[cp] engine exited with code 137 (SIGKILL)";
    case "K":
      return "[cp] monitor exited with code 137 (SIGKILL)";
    case "e":
      return "[cp] engine started (pid 13)";
    case "m":
      return "[cp] monitor started (pid 14)";
    case "f":
      return record(state.faulty ? "fault cleared: engine OK" : "fault switched on: engine KO");
  }
  return "";
}

/** A CP process that records what was asked of it and answers keys as `deno task cp` does. */
class FakeCp implements LocalCpProcess {
  running = true;
  readonly calls: string[] = [];
  children: CpChildren = {
    engine: { running: true, pid: 11 },
    monitor: { running: true, pid: 12 },
    faulty: false,
  };
  constructor(readonly pidValue: number) {}
  type(keys: string): Promise<void> {
    this.calls.push(`type ${keys}`);
    this.children = foldCpLine(this.children, reaction(keys, this.children));
    return Promise.resolve();
  }
  get pid(): number {
    if (!this.running) throw new Error("not running");
    return this.pidValue;
  }
  start(): Promise<void> {
    this.calls.push("start");
    this.running = true;
    return Promise.resolve();
  }
  stop(): Promise<void> {
    this.calls.push("stop");
    this.running = false;
    return Promise.resolve();
  }
}

/** A host with CP-001 running, and the plans `startCp` was given. */
function setup(options: { failStart?: boolean; newCpArgs?: string[]; dir?: string } = {}) {
  const cps = new Map<string, FakeCp>([["CP-001", new FakeCp(101)]]);
  const cpPlans = new Map<string, CpPlan>([
    ["CP-001", { id: "CP-001", location: "Alicante", priceEurKwh: 0.35, powerKw: 22 }],
  ]);
  const started: CpPlan[] = [];
  const host: LocalCpHost = {
    cps,
    cpPlans,
    startCp: (plan) => {
      started.push(plan);
      if (options.failStart) return Promise.reject(new Error("spawn failed"));
      const cp = new FakeCp(200 + started.length);
      cps.set(plan.id, cp);
      cpPlans.set(plan.id, plan);
      return Promise.resolve(cp);
    },
    cpChildren: (id) => cps.get(id)?.children,
    credentialsFile: (id) => credentialsPath(options.dir ?? "/nonexistent", id),
    registryUrl: "https://registry.test:8443",
  };
  const app = createSupervisorApp({
    host,
    adminToken: TOKEN,
    newCpArgs: options.newCpArgs,
    now: () => new Date("2025-03-01T10:00:00.000Z"),
  });
  return { app, cps, started };
}

const post = (body: unknown, headers: Record<string, string> = AUTH) => ({
  method: "POST",
  headers: { ...headers, "content-type": "application/json" },
  body: typeof body === "string" ? body : JSON.stringify(body),
});
const NEW_CP = { id: "CP-006", location: "Murcia", price_eur_kwh: 0.4, power_kw: 22 };

Deno.test("supervisor api: every call needs Central's admin token, and never shows it", async () => {
  const { app, cps } = setup();
  const missing = await app.request("/cps");
  assert.equal(missing.status, 401);
  assert.match(missing.headers.get("www-authenticate") ?? "", /^Bearer/);
  const wrong = await app.request("/cps/CP-001/stop", {
    method: "POST",
    headers: { authorization: "Bearer nope" },
  });
  assert.equal(wrong.status, 401);
  const body = await wrong.json();
  assert.equal(body.error, "unauthorized");
  assert.ok(!JSON.stringify(body).includes(TOKEN));
  assert.deepEqual(cps.get("CP-001")!.calls, [], "a refused call does nothing");
  assert.equal((await app.request("/cps", post(NEW_CP, {}))).status, 401);
});

Deno.test("supervisor api: wrong bearers are throttled per address (429 + Retry-After); the right one never is", async () => {
  const { app, cps } = setup();
  const from = (hostname: string, token: string) =>
    app.request("/cps/CP-001/stop", {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    }, { remoteAddr: { transport: "tcp", hostname, port: 40000 } });
  for (let i = 0; i < 10; i++) assert.equal((await from("127.0.0.9", `guess-${i}`)).status, 401);
  const throttled = await from("127.0.0.9", "guess-10");
  assert.equal(throttled.status, 429);
  assert.ok(Number(throttled.headers.get("retry-after")) >= 1);
  assert.equal((await throttled.json()).error, "too_many_attempts");
  assert.equal((await from("127.0.0.8", "guess")).status, 401, "another address is not throttled");
  assert.deepEqual(cps.get("CP-001")!.calls, [], "nothing refused did anything");
  assert.equal((await from("127.0.0.9", TOKEN)).status, 200, "the right token still goes through");
  assert.deepEqual(cps.get("CP-001")!.calls, ["stop"]);
});

Deno.test("supervisor api: GET /cps lists the local CPs with their plan, state and pid", async () => {
  const { app, cps } = setup();
  await app.request("/cps", post(NEW_CP));
  cps.get("CP-006")!.running = false;
  const res = await app.request("/cps", { headers: AUTH });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), [
    {
      id: "CP-001",
      location: "Alicante",
      price_eur_kwh: 0.35,
      power_kw: 22,
      running: true,
      pid: 101,
      engine_running: true,
      monitor_running: true,
      faulty: false,
    },
    {
      ...NEW_CP,
      running: false,
      pid: null,
      engine_running: false,
      monitor_running: false,
      faulty: false,
    },
  ]);
});

Deno.test("supervisor api: POST /cps starts a new CP through startCp with the extra flags", async () => {
  const { app, started } = setup({ newCpArgs: ["--speed", "60"] });
  const res = await app.request("/cps", post(NEW_CP));
  assert.equal(res.status, 201);
  assert.deepEqual(await res.json(), {
    ...NEW_CP,
    running: true,
    pid: 201,
    engine_running: true,
    monitor_running: true,
    faulty: false,
  });
  assert.deepEqual(started, [{
    id: "CP-006",
    location: "Murcia",
    priceEurKwh: 0.4,
    powerKw: 22,
    args: ["--speed", "60"],
  }]);
  const again = await app.request("/cps", post(NEW_CP));
  assert.equal(again.status, 409);
  assert.equal((await again.json()).error, "already_exists");
  assert.equal(started.length, 1, "never a second process of one id");
});

Deno.test("supervisor api: POST /cps refuses bad ids, locations, prices and powers", async () => {
  const { app, started } = setup();
  const bad = [
    { ...NEW_CP, id: "X" },
    { ...NEW_CP, id: "CP 6" },
    { ...NEW_CP, id: "../etc" },
    { ...NEW_CP, location: "" },
    { ...NEW_CP, location: "--headless" },
    { ...NEW_CP, location: " Murcia" },
    { ...NEW_CP, location: "Mur\ncia" },
    { ...NEW_CP, price_eur_kwh: -1 },
    { ...NEW_CP, price_eur_kwh: 101 },
    { ...NEW_CP, price_eur_kwh: 1e-7 },
    { ...NEW_CP, price_eur_kwh: "0.4" },
    { ...NEW_CP, power_kw: 0 },
    { ...NEW_CP, power_kw: 5001 },
    { ...NEW_CP, extra: true },
    { id: "CP-006" },
  ];
  for (const body of bad) {
    const res = await app.request("/cps", post(body));
    assert.equal(res.status, 400, JSON.stringify(body));
    const answer = await res.json();
    assert.equal(answer.error, "validation_failed");
    assert.equal(typeof answer.detail, "string");
    assert.equal(answer.timestamp, "2025-03-01T10:00:00.000Z");
  }
  assert.equal((await app.request("/cps", post("{not json"))).status, 400);
  assert.equal((await app.request("/cps/no%20such/start", post({}))).status, 400);
  assert.equal(started.length, 0);
});

Deno.test("supervisor api: a body over 64 KiB is refused unread", async () => {
  const { app, started } = setup();
  const res = await app.request(
    "/cps",
    post({ ...NEW_CP, location: "x".repeat(MAX_BODY_BYTES) }),
  );
  assert.equal(res.status, 413);
  assert.equal((await res.json()).error, "payload_too_large");
  assert.equal(started.length, 0);
});

Deno.test("supervisor api: stop and start drive the CP's process, once each", async () => {
  const { app, cps } = setup();
  const cp = cps.get("CP-001")!;
  const stopped = await app.request("/cps/CP-001/stop", post({}));
  assert.equal(stopped.status, 200);
  assert.deepEqual(await stopped.json(), {
    id: "CP-001",
    location: "Alicante",
    price_eur_kwh: 0.35,
    power_kw: 22,
    running: false,
    pid: null,
    engine_running: false,
    monitor_running: false,
    faulty: false,
  });
  const twice = await app.request("/cps/CP-001/stop", post({}));
  assert.equal(twice.status, 409);
  assert.equal((await twice.json()).error, "not_running");
  const restarted = await app.request("/cps/CP-001/start", post({}));
  assert.equal(restarted.status, 200);
  assert.equal((await restarted.json()).pid, 101);
  assert.equal((await app.request("/cps/CP-001/start", post({}))).status, 409);
  assert.deepEqual(cp.calls, ["stop", "start"]);
});

Deno.test("supervisor api: an unknown CP is 404, a failed spawn 500", async () => {
  const { app } = setup({ failStart: true });
  const unknown = await app.request("/cps/CP-404/start", post({}));
  assert.equal(unknown.status, 404);
  assert.equal((await unknown.json()).detail, "no local CP CP-404");
  const failed = await app.request("/cps", post(NEW_CP));
  assert.equal(failed.status, 500);
  assert.deepEqual((await failed.json()).error, "start_failed");
});

Deno.test("supervisor api: a start while one is under way is refused, not run twice", async () => {
  const { app, cps } = setup();
  const cp = cps.get("CP-001")!;
  cp.running = false;
  const { promise: gate, resolve } = Promise.withResolvers<void>();
  cp.start = () => {
    cp.calls.push("start");
    return gate.then(() => {
      cp.running = true;
    });
  };
  const first = app.request("/cps/CP-001/start", post({}));
  await new Promise((r) => setTimeout(r, 10));
  const second = await app.request("/cps/CP-001/start", post({}));
  assert.equal(second.status, 409);
  assert.equal((await second.json()).error, "busy");
  resolve();
  assert.equal((await first).status, 200);
  assert.deepEqual(cp.calls, ["start"]);
});

Deno.test("supervisor api: the demo actions type deno task cp's keys and answer once done", async () => {
  const { app, cps } = setup();
  const cp = cps.get("CP-001")!;
  const act = async (action: string) => {
    const res = await app.request(`/cps/CP-001/${action}`, { method: "POST", headers: AUTH });
    return { status: res.status, body: await res.json() };
  };
  let answer = await act("fault");
  assert.equal(answer.status, 200);
  assert.equal(answer.body.faulty, true);
  assert.equal((await act("fault")).status, 200, "a fault on a faulty engine is done already");
  answer = await act("repair");
  assert.equal(answer.body.faulty, false);
  answer = await act("kill-engine");
  assert.deepEqual([answer.status, answer.body.engine_running, answer.body.monitor_running], [
    200,
    false,
    true,
  ]);
  answer = await act("kill-engine");
  assert.equal(answer.status, 409, "nothing to kill");
  assert.match(answer.body.detail, /engine is not running/);
  assert.equal((await act("fault")).status, 409, "no engine to fault");
  answer = await act("restart-engine");
  assert.equal(answer.body.engine_running, true);
  assert.equal((await act("restart-engine")).status, 409, "it runs already");
  answer = await act("kill-monitor");
  assert.equal(answer.body.monitor_running, false);
  answer = await act("restart-monitor");
  assert.equal(answer.body.monitor_running, true);
  assert.deepEqual(cp.calls, ["type f", "type f", "type k", "type e", "type K", "type m"]);
});

Deno.test("supervisor api: demo actions on an unknown, stopped or unnamed CP are refused", async () => {
  const { app, cps } = setup();
  const call = (path: string) => app.request(path, { method: "POST", headers: AUTH });
  assert.equal((await call("/cps/CP-404/fault")).status, 404);
  assert.equal((await call("/cps/CP-001/explode")).status, 404);
  assert.equal((await call("/cps/bad id!/fault")).status, 400);
  cps.get("CP-001")!.running = false;
  const res = await call("/cps/CP-001/kill-engine");
  assert.equal(res.status, 409);
  assert.equal((await res.json()).error, "not_running");
  assert.deepEqual(cps.get("CP-001")!.calls, []);
});

Deno.test("supervisor api: new credentials replace the CP's file (0600) and start a monitor that gave up", async () => {
  const dir = await Deno.makeTempDir({ prefix: "supervisor_credentials_" });
  try {
    const { app, cps } = setup({ dir });
    const file = credentialsPath(dir, "CP-001");
    await writeCredentials(file, {
      cp_id: "CP-001",
      credentials: "old-secret",
      registry_url: "https://registry.test:8443",
      registered_at: "2025-03-01T09:00:00.000Z",
    });
    const cp = cps.get("CP-001")!;
    cp.children = { ...cp.children, monitor: { running: false, pid: null } }; // gave up: revoked
    const body = { credentials: "new-secret", registered_at: "2025-03-01T09:00:00.000Z" };
    const res = await app.request("/cps/CP-001/credentials", post(body));
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.equal(JSON.parse(text).monitor_running, true);
    assert.ok(!text.includes("new-secret"), "never answered back");
    assert.deepEqual(cp.calls, ["type m"], "the monitor started again");
    assert.equal((await readCredentials(file, "CP-001"))?.credentials, "new-secret");
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);

    // A running monitor reads the file at its next login: nothing to start.
    assert.equal((await app.request("/cps/CP-001/credentials", post(body))).status, 200);
    assert.deepEqual(cp.calls, ["type m"]);
    const unknown = await app.request("/cps/CP-404/credentials", post(body));
    assert.equal(unknown.status, 404);
    const bad = await app.request("/cps/CP-001/credentials", post({ credentials: "" }));
    assert.equal(bad.status, 400);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
