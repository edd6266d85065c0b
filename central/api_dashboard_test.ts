import assert from "node:assert/strict";
import {
  type DashboardDeps,
  EventStreams,
  SSE_MAX_QUEUED,
  sseFrame,
  type SupervisorCall,
  supervisorCaller,
} from "./api_dashboard.ts";
import { createSupervisorApp } from "../infra/supervisor_api.ts";
import type { CpPlan } from "../infra/network.ts";
import { ADMIN_TOKEN as TOKEN, freshFacts, memoryRuntime, testApp } from "./api_test_support.ts";
import { cpLogin as login, dispatch, T0 } from "./core_test_support.ts";
import { DashboardTracker } from "./dashboard.ts";
import { LiveFeed } from "./live_feed.ts";
import { CentralRuntime } from "./runtime.ts";
import { systemStatus } from "./system_health.ts";

function setup(extra: Partial<DashboardDeps> = {}) {
  const { store, runtime } = memoryRuntime();
  const feed = new LiveFeed({ boot: "b" });
  const tracker = new DashboardTracker(feed, runtime.model);
  runtime.subscribe((c) => tracker.commit(c));
  const streams = new EventStreams();
  const app = testApp(runtime, {
    now: () => new Date(T0 + 3000),
    dashboard: {
      feed,
      streams,
      status: () => systemStatus(freshFacts(runtime.model), T0),
      web: () => Promise.resolve({ html: "<p>page</p>", js: "app()", css: "p{}" }),
      registryAdmin: false,
      ...extra,
    },
  });
  return {
    runtime,
    feed,
    streams,
    app,
    [Symbol.dispose]: () => {
      streams.closeAll();
      store.close();
    },
  };
}

/** Reads an event stream until `count` frames with an `event:` line arrived. */
async function readFrames(res: Response, count: number): Promise<string[]> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const frames = () => text.split("\n\n").filter((f) => f.includes("event: "));
  while (frames().length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  await reader.cancel();
  return frames();
}

Deno.test("dashboard api: GET /snapshot has the CPs and the event id to resume from", async () => {
  using t = setup();
  dispatch(t.runtime, login("CP-1", 1));
  const res = await t.app.request("/snapshot");
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.boot, "b");
  assert.equal(body.last_event_id, t.feed.lastId);
  assert.deepEqual(body.cps.map((c: { id: string; state: string }) => [c.id, c.state]), [
    ["CP-1", "ACTIVATED"],
  ]);
  assert.equal(body.registry_admin, false);
  assert.ok(!JSON.stringify(body).includes(TOKEN), "never the admin token");
});

Deno.test("dashboard api: GET /events without an id starts with a reset to the current id", async () => {
  using t = setup();
  dispatch(t.runtime, login("CP-1", 1));
  const res = await t.app.request("/events");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
  const [reset] = await readFrames(res, 1);
  assert.match(reset, new RegExp(`^id: ${t.feed.lastId}\nevent: reset\n`));
  assert.equal(t.streams.size, 0, "a cancelled stream is forgotten");
});

Deno.test("dashboard api: GET /events with Last-Event-ID replays what came after it, then live", async () => {
  using t = setup();
  dispatch(t.runtime, login("CP-1", 1));
  const seen = t.feed.lastId;
  t.runtime.dispatch({ type: "stop", cpId: "CP-1", reason: "admin" }, T0 + 1);
  const res = await t.app.request("/events", { headers: { "last-event-id": seen } });
  const pending = readFrames(res, 2);
  await new Promise((r) => setTimeout(r, 20));
  t.runtime.dispatch({ type: "resume", cpId: "CP-1" }, T0 + 2);
  const frames = await pending;
  assert.deepEqual(frames.map((f) => f.match(/event: (\w+)/)?.[1]), ["cp", "cp"]);
  assert.match(frames[0], /"state":"STOPPED"/);
  assert.match(frames[1], /"state":"ACTIVATED"/);
  const query = await t.app.request(`/events?last_event_id=${encodeURIComponent(seen)}`);
  assert.match((await readFrames(query, 1))[0], /"state":"STOPPED"/, "the query works too");
});

Deno.test("dashboard api: GET /events?batch=1 sends the replay and each flush as one batch", async () => {
  using t = setup();
  dispatch(t.runtime, login("CP-1", 1));
  dispatch(t.runtime, login("CP-2", 2));
  const seen = t.feed.lastId;
  t.runtime.dispatch({ type: "stop", cpId: "CP-1", reason: "admin" }, T0 + 1);
  t.runtime.dispatch({ type: "stop", cpId: "CP-2", reason: "admin" }, T0 + 1);
  const res = await t.app.request("/events?batch=1", { headers: { "last-event-id": seen } });
  // The stream is subscribed once the answer is there: a flush now is live.
  t.feed.coalesce("cp:CP-1", "telemetry", { id: "CP-1", kwh: 1 });
  t.feed.coalesce("cp:CP-2", "telemetry", { id: "CP-2", kwh: 2 });
  t.feed.coalesce("cp:CP-1", "telemetry", { id: "CP-1", kwh: 3 });
  const flushed = t.feed.flush();
  const frames = await readFrames(res, 2);
  const parse = (frame: string) => ({
    id: frame.match(/^id: (.+)$/m)?.[1],
    event: frame.match(/^event: (.+)$/m)?.[1],
    items: JSON.parse(frame.match(/^data: (.+)$/m)![1]) as { id: string; type: string }[],
  });
  const [replay, live] = frames.map(parse);
  assert.equal(replay.event, "batch");
  assert.deepEqual(replay.items.map((e) => e.type), ["cp", "cp"]);
  assert.equal(replay.id, replay.items[1].id, "a batch's id is its last event's");
  assert.equal(live.event, "batch");
  assert.deepEqual(live.items, flushed.map(({ id, type, data }) => ({ id, type, data })));
  assert.equal(live.id, t.feed.lastId);
});

Deno.test("dashboard api: Central's stop ends every open stream", async () => {
  using t = setup();
  const res = await t.app.request("/events");
  assert.equal(t.streams.size, 1);
  t.streams.closeAll();
  const text = await res.text(); // ends: the stream was closed
  assert.match(text, /event: reset/);
  assert.equal(t.streams.size, 0);
});

Deno.test("dashboard api: a stream its client stops reading is ended past SSE_MAX_QUEUED events, and the client still gets what was queued", async () => {
  using t = setup();
  const res = await t.app.request("/events"); // never read until the end
  const published = SSE_MAX_QUEUED + 100;
  for (let i = 0; i < published; i++) t.feed.publish("audit", { i });
  assert.equal(t.streams.size, 0, "ended once too far behind");
  t.feed.publish("audit", { i: published }); // nothing more is queued for it
  const text = await res.text(); // ends: the stream was closed, not errored
  const audits = text.split("\n\n").filter((f) => f.includes("event: audit"));
  // Queued before the end: the retry line, the reset and the events up to the bound.
  assert.equal(audits.length, SSE_MAX_QUEUED, "the queued events, then the end");
  assert.match(audits[0], /"i":0/);
});

Deno.test("dashboard api: the CP manager needs the admin token and a Registry admin key", async () => {
  using t = setup();
  const body = JSON.stringify({ cp_id: "CP-9", location: "Murcia" });
  const unauthorized = await t.app.request("/registry/cps", { method: "POST", body });
  assert.equal(unauthorized.status, 401);
  const off = await t.app.request("/registry/cps", {
    method: "POST",
    body,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
  });
  assert.equal(off.status, 503);
  assert.equal((await off.json()).error, "no_registry_admin_key");
});

Deno.test("dashboard api: the page, script, stylesheet and an offline docs page are served", async () => {
  using t = setup();
  const page = await t.app.request("/");
  assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
  assert.equal(await page.text(), "<p>page</p>");
  assert.equal(await (await t.app.request("/app.js")).text(), "app()");
  assert.match((await t.app.request("/app.css")).headers.get("content-type") ?? "", /text\/css/);
  const docs = await (await t.app.request("/docs")).text();
  assert.match(docs, /GET<\/span> <code>\/snapshot<\/code>/);
  assert.match(docs, /Needs the admin token/);
  assert.ok(!/https?:\/\/(?!127)/.test(docs.replace(/href="\/[^"]*"/g, "")), "no CDN link");
});

Deno.test("dashboard api: an SSE frame is one id, one event and one data line", () => {
  assert.equal(
    sseFrame({ id: "b-1", type: "ticket", data: { note: "a\nb" } }),
    'id: b-1\nevent: ticket\ndata: {"note":"a\\nb"}\n\n',
  );
});

// ------------------------------------------------------------------------------- local CPs

const ADMIN = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
const NEW_CP = { id: "CP-006", location: "Murcia", price_eur_kwh: 0.4, power_kw: 22 };

/** The admin audit entries `runtime` is given from now on, as `[action, outcome]`. */
function auditsOf(runtime: CentralRuntime): [string, string][] {
  const seen: [string, string][] = [];
  runtime.audit = (entry) => void seen.push([entry.action, entry.outcome]);
  return seen;
}

/** A supervisor app over an in-memory host, reached without a socket, and the calls it got. */
function inMemorySupervisor(token = TOKEN) {
  const cps = new Map<
    string,
    {
      running: boolean;
      pid: number;
      keys: string[];
      start(): Promise<void>;
      stop(): Promise<void>;
      type(keys: string): Promise<void>;
    }
  >();
  const cpPlans = new Map<string, CpPlan>();
  const app = createSupervisorApp({
    adminToken: token,
    host: {
      cps,
      cpPlans,
      startCp: (plan) => {
        const cp = {
          running: true,
          pid: 4242,
          keys: [] as string[],
          start: () => Promise.resolve(void (cp.running = true)),
          stop: () => Promise.resolve(void (cp.running = false)),
          // The key the supervisor types for a fault shows at once as the fault being on.
          type: (keys: string) => Promise.resolve(void cp.keys.push(keys)),
        };
        cps.set(plan.id, cp);
        cpPlans.set(plan.id, plan);
        return Promise.resolve(cp);
      },
      cpChildren: (id) => {
        const cp = cps.get(id);
        if (cp === undefined) return undefined;
        const child = { running: true, pid: 1 };
        return { engine: child, monitor: child, faulty: cp.keys.includes("f") };
      },
      credentialsFile: (id) => `/nonexistent/${id}.credentials`,
      registryUrl: "https://localhost:8443",
    },
  });
  const seen: { url: string; authorization: string | null }[] = [];
  const fetcher = ((input: string, init?: RequestInit) => {
    seen.push({ url: input, authorization: new Headers(init?.headers).get("authorization") });
    return Promise.resolve(app.request(input, init));
  }) as typeof fetch;
  return { call: supervisorCaller("http://127.0.0.1:8099", TOKEN, fetcher), seen };
}

Deno.test("dashboard api: without a supervisor the local CPs are 404 and the snapshot says so", async () => {
  using t = setup();
  assert.equal((await (await t.app.request("/snapshot")).json()).local_cps, false);
  const res = await t.app.request("/local/cps", { headers: ADMIN });
  assert.equal(res.status, 404);
  assert.deepEqual(await res.json(), {
    error: "no_supervisor",
    detail: "no local supervisor: Central was not started by deno task start",
    detail_code: "no_supervisor",
    detail_params: {},
    timestamp: "2025-03-01T10:00:03.000Z",
  });
  const start = await t.app.request("/local/cps/CP-001/start", { method: "POST", headers: ADMIN });
  assert.equal(start.status, 404);
});

Deno.test("dashboard api: the local CPs need the admin token, the list too", async () => {
  using t = setup({ supervisor: inMemorySupervisor().call });
  assert.equal((await t.app.request("/local/cps")).status, 401);
  const body = JSON.stringify(NEW_CP);
  assert.equal((await t.app.request("/local/cps", { method: "POST", body })).status, 401);
  const wrong = await t.app.request("/local/cps/CP-006/stop", {
    method: "POST",
    headers: { authorization: "Bearer wrong" },
  });
  assert.equal(wrong.status, 401);
});

Deno.test("dashboard api: local CP calls go to the supervisor with the admin token", async () => {
  const supervisor = inMemorySupervisor();
  using t = setup({ supervisor: supervisor.call });
  const audits = auditsOf(t.runtime);
  assert.equal((await (await t.app.request("/snapshot")).json()).local_cps, true);
  const added = await t.app.request("/local/cps", {
    method: "POST",
    headers: ADMIN,
    body: JSON.stringify(NEW_CP),
  });
  assert.equal(added.status, 201);
  assert.deepEqual(await added.json(), {
    ...NEW_CP,
    running: true,
    pid: 4242,
    engine_running: true,
    monitor_running: true,
    faulty: false,
  });
  const faulted = await t.app.request("/local/cps/CP-006/fault", {
    method: "POST",
    headers: ADMIN,
  });
  assert.equal(faulted.status, 200);
  assert.equal((await faulted.json()).faulty, true);
  const stopped = await t.app.request("/local/cps/CP-006/stop", { method: "POST", headers: ADMIN });
  assert.equal(stopped.status, 200);
  assert.equal((await stopped.json()).running, false);
  const list = await t.app.request("/local/cps", { headers: ADMIN });
  assert.deepEqual((await list.json()).map((cp: { id: string }) => cp.id), ["CP-006"]);
  assert.deepEqual(supervisor.seen, [
    { url: "http://127.0.0.1:8099/cps", authorization: `Bearer ${TOKEN}` },
    { url: "http://127.0.0.1:8099/cps/CP-006/fault", authorization: `Bearer ${TOKEN}` },
    { url: "http://127.0.0.1:8099/cps/CP-006/stop", authorization: `Bearer ${TOKEN}` },
    { url: "http://127.0.0.1:8099/cps", authorization: `Bearer ${TOKEN}` },
  ]);
  assert.deepEqual(audits, [["local_cp.add", "ok"], ["local_cp.fault", "ok"], [
    "local_cp.stop",
    "ok",
  ]]);
});

Deno.test("dashboard api: Central checks a new local CP before it reaches the supervisor", async () => {
  const supervisor = inMemorySupervisor();
  using t = setup({ supervisor: supervisor.call });
  const res = await t.app.request("/local/cps", {
    method: "POST",
    headers: ADMIN,
    body: JSON.stringify({ ...NEW_CP, location: "--headless" }),
  });
  assert.equal(res.status, 400);
  assert.equal((await res.json()).error, "validation_failed");
  const bad = await t.app.request("/local/cps/..%2Fx/start", { method: "POST", headers: ADMIN });
  assert.equal(bad.status, 400);
  assert.deepEqual(supervisor.seen, []);
});

Deno.test("dashboard api: the supervisor's errors pass through; its refusal and silence do not", async () => {
  const answer = (status: number, body: unknown): SupervisorCall => () =>
    Promise.resolve(Response.json(body, { status }));
  const conflict = { error: "already_running", detail: "CP CP-001 runs already", timestamp: "t" };
  for (
    const [call, status, error] of [
      [answer(409, conflict), 409, "already_running"],
      [
        answer(404, { error: "not_found", detail: "no local CP", timestamp: "t" }),
        404,
        "not_found",
      ],
      [inMemorySupervisor("another-token-0123456789").call, 502, "supervisor_refused"],
      [() => Promise.reject(new TypeError("connection refused")), 503, "supervisor_unavailable"],
      [() => Promise.resolve(new Response("<html>")), 502, "supervisor_bad_answer"],
    ] as const
  ) {
    using t = setup({ supervisor: call });
    const audits = auditsOf(t.runtime);
    const res = await t.app.request("/local/cps/CP-001/start", { method: "POST", headers: ADMIN });
    assert.equal(res.status, status, error);
    const body = await res.json();
    assert.equal(body.error, error);
    // Central's own words come with a code the page translates; the supervisor's pass through.
    if (error.startsWith("supervisor_")) assert.equal(body.detail_code, error);
    assert.ok(!JSON.stringify(body).includes(TOKEN));
    assert.deepEqual(audits, [["local_cp.start", "failed"]]);
  }
});
