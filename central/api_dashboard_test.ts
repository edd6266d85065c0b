import assert from "node:assert/strict";
import { createCentralApp } from "./api.ts";
import { EventStreams, sseFrame } from "./api_dashboard.ts";
import { DEFAULT_CORE_CONFIG, EMPTY_MODEL, type Input } from "./core.ts";
import { DashboardTracker } from "./dashboard.ts";
import { LiveFeed } from "./live_feed.ts";
import { CentralRuntime } from "./runtime.ts";
import { CentralStore } from "./store.ts";
import { systemStatus } from "./system_health.ts";

const TOKEN = "test-admin-token-0123456789";
const T0 = Date.parse("2025-03-01T10:00:00.000Z");

const login = (cpId: string, connection: number): Input => ({
  type: "login",
  cpId,
  connection,
  registry: { location: `At ${cpId}`, priceEurKwh: 0.5, powerKw: 22 },
  keyVersion: 1,
  wrappedKey: "w",
  at: T0,
});

function setup() {
  const store = CentralStore.open(":memory:");
  const runtime = new CentralRuntime(store, EMPTY_MODEL, DEFAULT_CORE_CONFIG);
  const feed = new LiveFeed({ boot: "b" });
  const tracker = new DashboardTracker(feed, runtime.model);
  runtime.subscribe((c) => tracker.commit(c));
  const streams = new EventStreams();
  const app = createCentralApp({
    runtime,
    adminToken: TOKEN,
    weatherServiceKey: "test-weather-service-key-0123456789",
    now: () => new Date(T0 + 3000),
    dashboard: {
      feed,
      streams,
      status: () =>
        systemStatus({
          producerConnected: true,
          lastFetchMs: {},
          outboxPending: 0,
          registryOkMs: null,
          registryErrorMs: null,
          registryError: null,
          model: runtime.model,
        }, T0),
      web: () => Promise.resolve({ html: "<p>page</p>", js: "app()", css: "p{}" }),
      registryAdmin: false,
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
  t.runtime.dispatch(login("CP-1", 1));
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
  t.runtime.dispatch(login("CP-1", 1));
  const res = await t.app.request("/events");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
  const [reset] = await readFrames(res, 1);
  assert.match(reset, new RegExp(`^id: ${t.feed.lastId}\nevent: reset\n`));
  assert.equal(t.streams.size, 0, "a cancelled stream is forgotten");
});

Deno.test("dashboard api: GET /events with Last-Event-ID replays what came after it, then live", async () => {
  using t = setup();
  t.runtime.dispatch(login("CP-1", 1));
  const seen = t.feed.lastId;
  t.runtime.dispatch({ type: "stop", cpId: "CP-1", reason: "admin", at: T0 + 1 });
  const res = await t.app.request("/events", { headers: { "last-event-id": seen } });
  const pending = readFrames(res, 2);
  await new Promise((r) => setTimeout(r, 20));
  t.runtime.dispatch({ type: "resume", cpId: "CP-1", at: T0 + 2 });
  const frames = await pending;
  assert.deepEqual(frames.map((f) => f.match(/event: (\w+)/)?.[1]), ["cp", "cp"]);
  assert.match(frames[0], /"state":"STOPPED"/);
  assert.match(frames[1], /"state":"ACTIVATED"/);
  const query = await t.app.request(`/events?last_event_id=${encodeURIComponent(seen)}`);
  assert.match((await readFrames(query, 1))[0], /"state":"STOPPED"/, "the query works too");
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
