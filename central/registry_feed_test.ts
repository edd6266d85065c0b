import assert from "node:assert/strict";
import type { ChangeJson, ChangesPageJson } from "../registry/client.ts";
import { RegistryError, RegistryUnavailableError } from "../registry/client.ts";
import { DEFAULT_CORE_CONFIG, EMPTY_MODEL, type Input } from "./core.ts";
import { type ChangeSource, RegistryFeedFollower } from "./registry_feed.ts";
import { CentralRuntime } from "./runtime.ts";
import { CentralStore } from "./store.ts";

const REGISTERED_AT = "2026-03-01T09:00:00.000Z";

function change(seq: number, action: ChangeJson["action"], cpId = "CP-1"): ChangeJson {
  return { seq, cp_id: cpId, action, at: REGISTERED_AT, registered_at: REGISTERED_AT };
}

/**
 * A change source that answers each call from a script (a page or an error) and records the
 * `after` it was asked for; once the script is done it holds the request until aborted.
 */
function scripted(answers: (ChangesPageJson | Error)[]) {
  const asked: number[] = [];
  let drained: () => void = () => {};
  const done = new Promise<void>((resolve) => drained = resolve);
  const source: ChangeSource = {
    changes(after, { signal }) {
      asked.push(after);
      const next = answers.shift();
      if (next === undefined) {
        drained();
        return new Promise((_, reject) =>
          signal?.addEventListener("abort", () => reject(new Error("aborted")), { once: true })
        );
      }
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
  };
  return { source, asked, done };
}

function setup() {
  const store = CentralStore.open(":memory:");
  const runtime = new CentralRuntime(store, EMPTY_MODEL, DEFAULT_CORE_CONFIG);
  const applied: Input[] = [];
  runtime.subscribe(({ input }) => applied.push(input));
  return { store, runtime, applied };
}

Deno.test("registry feed: applies each change in order and resumes after the stored seq", async () => {
  const { store, runtime, applied } = setup();
  try {
    const first = scripted([
      { changes: [change(1, "registered"), change(2, "deregistered")], last_seq: 2 },
      { changes: [change(3, "registered", "CP-2")], last_seq: 3 },
    ]);
    const follower = new RegistryFeedFollower(runtime, first.source, { retryMs: 1 });
    follower.start();
    await first.done;
    await follower.stop();
    assert.deepEqual(first.asked, [0, 2, 3]);
    assert.deepEqual(applied.map((i) => i.type === "registry_change" && i.seq), [1, 2, 3]);
    assert.equal(store.registrySeq(), 3);

    const second = scripted([]);
    const again = new RegistryFeedFollower(runtime, second.source);
    assert.equal(again.applied, 3);
    again.start();
    await second.done;
    await again.stop();
    assert.deepEqual(second.asked, [3], "a restarted follower asks after what it applied");
  } finally {
    store.close();
  }
});

Deno.test("registry feed: an unreachable Registry is retried; a replaced one is followed from its start", async () => {
  const { store, runtime, applied } = setup();
  try {
    const feed = scripted([
      { changes: [change(5, "registered")], last_seq: 5 },
      new RegistryUnavailableError("cannot reach it"),
      { changes: [], last_seq: 1 }, // the Registry's database was replaced
      { changes: [change(1, "registered")], last_seq: 1 },
    ]);
    const follower = new RegistryFeedFollower(runtime, feed.source, { retryMs: 1 });
    follower.start();
    await feed.done;
    await follower.stop();
    assert.deepEqual(feed.asked, [0, 5, 5, 0, 1]);
    assert.deepEqual(applied.map((i) => i.type === "registry_change" && i.seq), [5, 1]);
  } finally {
    store.close();
  }
});

Deno.test("registry feed: a refused key waits the long delay, and stop ends the wait at once", async () => {
  const { store, runtime } = setup();
  try {
    const feed = scripted([new RegistryError(401, "invalid_feed_key", "wrong key")]);
    const follower = new RegistryFeedFollower(runtime, feed.source, { refusedRetryMs: 3_600_000 });
    follower.start();
    while (feed.asked.length === 0) await new Promise((r) => setTimeout(r, 0));
    await follower.stop(); // would hang for an hour if the wait ignored the stop
    assert.deepEqual(feed.asked, [0], "no second request within the long delay");
  } finally {
    store.close();
  }
});

Deno.test("registry feed: a change the store fails to apply is asked for again", async () => {
  const { store, runtime, applied } = setup();
  try {
    const feed = scripted([
      { changes: [change(1, "registered")], last_seq: 1 },
      { changes: [change(1, "registered")], last_seq: 1 },
    ]);
    let failOnce = true;
    const dispatch = runtime.dispatch.bind(runtime);
    runtime.dispatch = (input, mark) => {
      if (failOnce) {
        failOnce = false;
        throw new Error("database is locked");
      }
      return dispatch(input, mark);
    };
    const follower = new RegistryFeedFollower(runtime, feed.source, { maxRetryMs: 1 });
    follower.start();
    await feed.done;
    await follower.stop();
    assert.deepEqual(feed.asked, [0, 0, 1]);
    assert.deepEqual(applied.map((i) => i.type === "registry_change" && i.seq), [1]);
    assert.equal(store.registrySeq(), 1);
  } finally {
    store.close();
  }
});

Deno.test("registry feed: its health is unknown before an answer, ok while answered, down saying why", async () => {
  const { store, runtime } = setup();
  try {
    const waits: (number | undefined)[] = [];
    const answers: (ChangesPageJson | Error)[] = [
      { changes: [change(1, "registered")], last_seq: 1 },
      new RegistryUnavailableError("connection refused"),
      new RegistryError(401, "invalid_feed_key", "wrong key"),
    ];
    const seen: string[] = [];
    const gate = Promise.withResolvers<void>();
    const follower: RegistryFeedFollower = new RegistryFeedFollower(runtime, {
      changes(_after, { waitSeconds, signal }) {
        waits.push(waitSeconds);
        const h = follower.health();
        seen.push(`${h.status}@${h.appliedSeq}`);
        const next = answers.shift();
        if (next === undefined) {
          gate.resolve();
          return new Promise((_, reject) =>
            signal?.addEventListener("abort", () => reject(new Error("aborted")), { once: true })
          );
        }
        return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
      },
    }, { retryMs: 1, refusedRetryMs: 1, waitSeconds: 25 });
    assert.equal(follower.health().status, "unknown");
    follower.start();
    await gate.promise;
    const last = follower.health();
    await follower.stop();
    assert.deepEqual(seen, ["unknown@0", "ok@1", "down@1", "down@1"]);
    assert.deepEqual(waits, [0, 25, 0, 0], "no long poll until the Registry answered");
    assert.equal(last.status, "down");
    assert.match(last.detail, /refused the change feed key/);
    assert.equal(last.appliedSeq, 1);
  } finally {
    store.close();
  }
});
