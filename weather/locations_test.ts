import assert from "node:assert/strict";
import { join } from "node:path";
import {
  formatLocations,
  type Locations,
  LocationsFileError,
  LocationStore,
  MAX_LOCATIONS,
  parseLocations,
} from "./locations.ts";
import { withTempDir } from "../shared/temp_dir.ts";

/** Polls `check` until it holds or 3 s pass. */
async function eventually(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function withStore(
  initial: string | undefined,
  test: (store: LocationStore, path: string, changes: Locations[]) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "weather-locations-" });
  const path = join(dir, "data", "weather_locations.json");
  if (initial !== undefined) {
    await Deno.mkdir(join(dir, "data"));
    await Deno.writeTextFile(path, initial);
  }
  const changes: Locations[] = [];
  const store = await LocationStore.open(path, {
    debounceMs: 30,
    onChange: (l) => changes.push(l),
  });
  try {
    await test(store, path, changes);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("parseLocations: a JSON object of CP id → city, with reasons naming the entry", () => {
  const good = parseLocations('{"CP-001": "Madrid", "CP-002": "  Oslo, NO "}');
  assert.ok(good.ok);
  assert.deepEqual([...good.locations], [["CP-001", "Madrid"], ["CP-002", "Oslo, NO"]]);
  const cases: [string, RegExp][] = [
    ['{"CP-001": "Madrid",}', /not valid JSON/],
    ['["CP-001"]', /JSON object/],
    ['{"CP 1": "Madrid"}', /CP 1/],
    ['{"CP-001": ""}', /CP-001/],
    ['{"CP-001": "   "}', /CP-001/],
    ['{"CP-001": 3}', /CP-001/],
    ['{"CP-001": "Mad\\u0000rid"}', /CP-001/],
  ];
  for (const [text, reason] of cases) {
    const parsed = parseLocations(text);
    assert.equal(parsed.ok, false, text);
    if (!parsed.ok) assert.match(parsed.reason, reason, text);
  }
});

Deno.test("a missing file is created as {} (and its folder)", async () => {
  await withStore(undefined, async (store, path) => {
    assert.equal(store.locations.size, 0);
    assert.equal(await Deno.readTextFile(path), "{}\n");
  });
});

Deno.test("a malformed file at start is a clear error", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "locations.json");
    await Deno.writeTextFile(path, '{"CP-001": }');
    await assert.rejects(LocationStore.open(path), LocationsFileError);
  });
});

Deno.test("set and remove write the file atomically, sorted, with no temporary file left", async () => {
  await withStore('{"CP-002": "Oslo"}', async (store, path, changes) => {
    assert.equal(await store.set("CP-001", " Madrid "), "added");
    assert.equal(await store.set("CP-001", "Madrid"), "unchanged");
    assert.equal(await store.set("CP-002", "Bergen"), "changed");
    assert.equal(await store.remove("CP-009"), undefined);
    assert.equal(await store.remove("CP-002"), "Bergen");
    assert.equal(await Deno.readTextFile(path), '{\n  "CP-001": "Madrid"\n}\n');
    assert.deepEqual(changes.map((c) => [...c]), [
      [["CP-002", "Oslo"], ["CP-001", "Madrid"]],
      [["CP-002", "Bergen"], ["CP-001", "Madrid"]],
      [["CP-001", "Madrid"]],
    ]);
    const names = [];
    for await (const entry of Deno.readDir(join(path, ".."))) names.push(entry.name);
    assert.deepEqual(names, ["weather_locations.json"]);
    await assert.rejects(store.set("bad id!", "Madrid"), RangeError);
    await assert.rejects(store.set("CP-003", ""), RangeError);
  });
});

Deno.test("an edit on disk takes effect while running, without a restart", async () => {
  await withStore('{"CP-001": "Madrid"}', async (store, path, changes) => {
    store.watch(); // Deno.watchFs is watching once it returns: no wait needed
    await Deno.writeTextFile(path, '{"CP-001": "Oslo", "CP-002": "Lyon"}');
    await eventually(() => store.locations.get("CP-002") === "Lyon", "the edit is loaded");
    assert.equal(store.locations.get("CP-001"), "Oslo");
    assert.equal(changes.length, 1);

    // An editor that saves by renaming a new file over the old one.
    const temporary = `${path}.swp`;
    await Deno.writeTextFile(temporary, '{"CP-003": "Porto"}');
    await Deno.rename(temporary, path);
    await eventually(() => store.locations.has("CP-003"), "the renamed file is loaded");
    assert.deepEqual([...store.locations], [["CP-003", "Porto"]]);
  });
});

Deno.test("the office's own writes are not reloaded as changes", async () => {
  await withStore("{}", async (store, _path, changes) => {
    store.watch();
    await store.set("CP-001", "Madrid");
    await eventually(() => store.rereads > 0, "the watch re-read the file after the write");
    assert.equal(changes.length, 1, "one change: the write itself, not its echo");
  });
});

Deno.test("a malformed edit keeps the previous good set with a clear error, until fixed", async () => {
  await withStore('{"CP-001": "Madrid"}', async (store, path, changes) => {
    store.watch();
    await Deno.writeTextFile(path, '{"CP-001": "Madrid", "CP 2": "Oslo"}');
    await eventually(() => store.problem !== undefined, "the problem is reported");
    assert.match(store.problem!, /invalid: \["CP 2"\].*keeping the previous 1 locations/);
    assert.deepEqual([...store.locations], [["CP-001", "Madrid"]]);
    assert.equal(changes.length, 0);

    // Writes are refused rather than overwrite the operator's file.
    await assert.rejects(store.set("CP-004", "Lyon"), LocationsFileError);
    assert.equal(await Deno.readTextFile(path), '{"CP-001": "Madrid", "CP 2": "Oslo"}');

    await Deno.writeTextFile(path, '{"CP-001": "Madrid", "CP-002": "Oslo"}');
    await eventually(() => store.problem === undefined, "the fix is loaded");
    assert.equal(store.locations.get("CP-002"), "Oslo");
    assert.equal(await store.set("CP-004", "Lyon"), "added");
  });
});

Deno.test("a deleted file keeps the set and refuses writes until it is back", async () => {
  await withStore('{"CP-001": "Madrid"}', async (store, path) => {
    store.watch();
    await Deno.remove(path);
    await eventually(() => store.problem !== undefined, "the deletion is reported");
    assert.match(store.problem!, /missing/);
    assert.equal(store.locations.size, 1);
    await assert.rejects(store.remove("CP-001"), LocationsFileError);
    await Deno.writeTextFile(path, formatLocations(new Map([["CP-001", "Madrid"]])));
    await eventually(() => store.problem === undefined, "the file is back");
  });
});

Deno.test("a write first picks up an edit on disk the watch has not reloaded yet", async () => {
  await withStore('{"CP-001": "Madrid"}', async (store, path) => {
    // Not watching: only the write's own re-read can see this edit.
    await Deno.writeTextFile(path, '{"CP-001": "Madrid", "CP-002": "Oslo"}');
    await store.set("CP-003", "Lyon");
    assert.deepEqual(JSON.parse(await Deno.readTextFile(path)), {
      "CP-001": "Madrid",
      "CP-002": "Oslo",
      "CP-003": "Lyon",
    });
  });
});

Deno.test("addMissing adds only the CPs the file lacks, in one write, and keeps an unread edit", async () => {
  await withStore('{"CP-001": "Madrid"}', async (store, path, changes) => {
    // Not watching: the edit is seen only by the write's own re-read, and its city wins.
    await Deno.writeTextFile(path, '{"CP-001": "Madrid", "CP-002": "Oslo,NO"}');
    const added = await store.addMissing(
      new Map([["CP-003", " Lyon "], ["CP-002", "Oslo"], ["CP-001", "Bilbao"], ["CP-000", "Vigo"]]),
    );
    assert.deepEqual(added, ["CP-000", "CP-003"]);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(path)), {
      "CP-000": "Vigo",
      "CP-001": "Madrid",
      "CP-002": "Oslo,NO",
      "CP-003": "Lyon",
    });
    assert.equal(changes.length, 2, "the edit's reload, then one write for both");
    assert.deepEqual(await store.addMissing(new Map([["CP-003", "Porto"]])), []);
    assert.equal(changes.length, 2, "nothing to add: no write");
    await assert.rejects(store.addMissing(new Map([["CP 9", "Porto"]])), /CP 9/);
    await assert.rejects(store.addMissing(new Map([["CP-009", ""]])), /CP-009/);
  });
});

Deno.test("addMissing stops at the most CPs the file may hold, and not while it is malformed", async () => {
  const full = Object.fromEntries(
    Array.from({ length: MAX_LOCATIONS - 1 }, (_, i) => [`CP-${i}`, "Madrid"]),
  );
  await withStore(JSON.stringify(full), async (store, path) => {
    const added = await store.addMissing(new Map([["ZZ-2", "Oslo"], ["ZZ-1", "Oslo"]]));
    assert.deepEqual(added, ["ZZ-1"], "the one that fits, by id");
    assert.equal(store.locations.size, MAX_LOCATIONS);
    await Deno.writeTextFile(path, "{");
    await assert.rejects(store.addMissing(new Map([["ZZ-3", "Oslo"]])), LocationsFileError);
    assert.equal(await Deno.readTextFile(path), "{");
  });
});
