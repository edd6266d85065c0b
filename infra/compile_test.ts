import assert from "node:assert/strict";
import { join } from "node:path";
import { cachedDenort, compileArgs, COMPONENTS, denortArchive, missingRuntime } from "./compile.ts";
import { WEB_BUNDLE, WEB_VENDOR_CSS } from "./web_build.ts";

Deno.test("compileArgs: permissions, includes, output in dist, then the entry point", () => {
  const args = compileArgs({
    name: "central",
    entry: "central/main.ts",
    permissions: ["--allow-net"],
    include: ["web"],
  }, "dist");
  assert.deepEqual(args, [
    "compile",
    "--allow-net",
    "--include",
    "web",
    "--output",
    join("dist", "central"),
    "central/main.ts",
  ]);
});

Deno.test("every component's entry point exists", async () => {
  const root = join(import.meta.dirname!, "..");
  for (const c of COMPONENTS) assert.ok((await Deno.stat(join(root, c.entry))).isFile, c.entry);
  assert.equal(new Set(COMPONENTS.map((c) => c.name)).size, COMPONENTS.length);
});

Deno.test("denortArchive names the runtime of this Deno version and target", () => {
  assert.equal(
    denortArchive("2.9.6", "x86_64-unknown-linux-gnu"),
    "v2.9.6/denort-x86_64-unknown-linux-gnu.zip",
  );
  assert.equal(
    cachedDenort("/c", "2.9.6", "x86_64-unknown-linux-gnu"),
    "/c/dl/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip",
  );
});

Deno.test("missingRuntime: DENORT_BIN must name a file; without it the cache must hold one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "compile_test_" });
  try {
    assert.match(
      (await missingRuntime({ denortBin: join(dir, "nope"), denoDir: dir }))!,
      /DENORT_BIN is .*nope, but there is no file there/,
    );
    await Deno.writeTextFile(join(dir, "denort"), "");
    assert.equal(await missingRuntime({ denortBin: join(dir, "denort"), denoDir: dir }), undefined);

    assert.match((await missingRuntime({ denoDir: dir }))!, /DENORT_BIN=\/path\/to\/denort/);
    const cached = cachedDenort(dir);
    await Deno.mkdir(join(cached, ".."), { recursive: true });
    await Deno.writeTextFile(cached, "");
    assert.equal(await missingRuntime({ denoDir: dir }), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task compile without a runtime stops at once with a clear message", async () => {
  const empty = await Deno.makeTempDir({ prefix: "compile_test_" });
  try {
    const run = (args: string[], env: Record<string, string>) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", join(import.meta.dirname!, "compile.ts"), ...args],
        env: { DENO_DIR: empty, ...env },
        stdout: "piped",
        stderr: "piped",
      }).output();
    const bare = await run([], {});
    assert.equal(bare.code, 1);
    const said = new TextDecoder().decode(bare.stderr);
    assert.match(said, /needs the denort runtime/);
    assert.match(said, /DENORT_BIN=/);

    const wrong = await run([], { DENORT_BIN: join(empty, "missing-denort") });
    assert.equal(wrong.code, 1);
    assert.match(new TextDecoder().decode(wrong.stderr), /missing-denort, but there is no file/);

    const unknown = await run(["nonsense"], {});
    assert.equal(unknown.code, 2);
    assert.match(new TextDecoder().decode(unknown.stderr), /unknown component nonsense/);
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});

Deno.test("the compiled Central carries the built dashboard and needs no unstable bundler", () => {
  const central = COMPONENTS.find((c) => c.name === "central")!;
  for (
    const file of [WEB_BUNDLE, WEB_VENDOR_CSS, "web/index.html", "web/app.css", "web/console.css"]
  ) {
    assert.ok(central.include?.includes(file), file);
  }
  assert.ok(!central.permissions.some((p) => p.startsWith("--unstable")));
});
