/**
 * The shape of the code base, read from the source itself with Deno's own parser (the one
 * `deno lint` uses, through `Deno.lint.runPlugin`): every import of every module, and the length
 * of every file and function.
 *
 * - No import cycle, type-only imports included.
 * - A service reaches another only through what it may use (the edges in {@link allowedEdge}):
 *   `shared/` is for everyone and imports only itself; the Registry's client is for everyone; the
 *   fleet hosts CPs and drivers, so it may use their components, and its benchmark starts the
 *   local broker and network; the dashboard page only takes types from `central/wire.ts`, and the
 *   browser-safe shared modules the dashboard bundle declares (infra/web_build.ts). Test
 *   code (`tests/`, `*_test.ts`, `test_support.ts`) may import anything.
 * - No file over {@link MAX_FILE_LINES} lines and no function over {@link MAX_FUNCTION_LINES},
 *   with no exception: a longer one is split by concept, or broken into named steps.
 *
 * @module
 */
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { WEB_SHARED_SOURCES } from "../infra/web_build.ts";

/** Longest file, in lines. */
const MAX_FILE_LINES = 700;
/** Longest function, in lines (its first to its last line). */
const MAX_FUNCTION_LINES = 120;

const ROOT = normalize(fileURLToPath(new URL("../", import.meta.url)));
const SKIPPED_DIRS = new Set(["node_modules", "data", "certs", "dist", ".git"]);

/** One import of one module: where it points (repository path) and whether only types. */
export interface ImportEdge {
  /** The importing module, relative to the repository root. */
  readonly from: string;
  /** The imported module, relative to the repository root. */
  readonly to: string;
  /** `import type` (or every specifier `type`): erased when the module runs. */
  readonly typeOnly: boolean;
}

/** A function with its length in lines. */
interface FunctionSize {
  readonly key: string;
  readonly lines: number;
}

/** What one module's source says about its imports and functions. */
interface ModuleFacts {
  readonly path: string;
  readonly lines: number;
  readonly imports: readonly { readonly specifier: string; readonly typeOnly: boolean }[];
  readonly functions: readonly FunctionSize[];
}

async function sourceFiles(dir = ROOT): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) {
      if (!SKIPPED_DIRS.has(entry.name) && !entry.name.startsWith(".")) {
        found.push(...await sourceFiles(path));
      }
    } else if (entry.isFile && /\.tsx?$/.test(entry.name) && !entry.name.endsWith(".d.ts")) {
      found.push(relative(ROOT, path));
    }
  }
  return found.sort();
}

// deno-lint-ignore no-explicit-any -- the parser's nodes, read only for names
type Node = any;

/**
 * A stable name for a function: its own name, the variable, property or method it is assigned
 * to (with the class), or for a callback the call it is passed to with its first string argument
 * (`Deno.test("…")`), else the enclosing function's name with `/callback`.
 */
function functionName(node: Node): string {
  if (node.id?.name) return node.id.name;
  const parent = node.parent;
  if (parent?.type === "VariableDeclarator") return parent.id?.name ?? "<destructured>";
  if (parent?.type === "MethodDefinition" || parent?.type === "PropertyDefinition") {
    const owner = parent.parent?.parent?.id?.name ?? "<class>";
    return `${owner}.${keyName(parent.key)}`;
  }
  if (parent?.type === "Property") return keyName(parent.key);
  if (parent?.type === "CallExpression" || parent?.type === "NewExpression") {
    const label = parent.arguments.find((a: Node) =>
      a.type === "Literal" && typeof a.value === "string"
    );
    const callee = calleeName(parent.callee);
    if (label) return `${callee}(${JSON.stringify(label.value)})`;
    return `${enclosingName(parent)}/${callee}(callback)`;
  }
  return `${enclosingName(parent)}/callback`;
}

function keyName(key: Node): string {
  if (key?.type === "Identifier" || key?.type === "PrivateIdentifier") return key.name;
  if (key?.type === "Literal") return String(key.value);
  return "<computed>";
}

function calleeName(callee: Node): string {
  if (callee?.type === "Identifier") return callee.name;
  if (callee?.type === "MemberExpression") {
    return `${calleeName(callee.object)}.${keyName(callee.property)}`;
  }
  return "<call>";
}

function enclosingName(node: Node): string {
  for (let at = node; at; at = at.parent) {
    if (
      at.type === "FunctionDeclaration" || at.type === "FunctionExpression" ||
      at.type === "ArrowFunctionExpression"
    ) return functionName(at);
  }
  return "<module>";
}

/** Parses one module: its relative imports and the length of each function. */
function analyse(path: string, source: string): ModuleFacts {
  const lineStarts = [0];
  for (let i = 0; i < source.length; i++) if (source[i] === "\n") lineStarts.push(i + 1);
  const lineOf = (offset: number) => {
    let low = 0, high = lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (lineStarts[mid] <= offset) low = mid;
      else high = mid - 1;
    }
    return low + 1;
  };
  const imports: { specifier: string; typeOnly: boolean }[] = [];
  const functions: FunctionSize[] = [];
  const seen = new Map<string, number>();
  const addImport = (source: Node, typeOnly: boolean) => {
    if (source?.type === "Literal" && typeof source.value === "string") {
      imports.push({ specifier: source.value, typeOnly });
    }
  };
  const addFunction = (node: Node) => {
    const base = `${path} ${functionName(node)}`;
    const count = (seen.get(base) ?? 0) + 1;
    seen.set(base, count);
    const key = count === 1 ? base : `${base}#${count}`;
    functions.push({ key, lines: lineOf(node.range[1] - 1) - lineOf(node.range[0]) + 1 });
  };
  const plugin: Deno.lint.Plugin = {
    name: "structure",
    rules: {
      facts: {
        create: () => ({
          ImportDeclaration(node: Node) {
            const typeOnly = node.importKind === "type" ||
              (node.specifiers.length > 0 &&
                node.specifiers.every((s: Node) => s.importKind === "type"));
            addImport(node.source, typeOnly);
          },
          ExportNamedDeclaration(node: Node) {
            if (node.source) addImport(node.source, node.exportKind === "type");
          },
          ExportAllDeclaration(node: Node) {
            addImport(node.source, node.exportKind === "type");
          },
          ImportExpression(node: Node) {
            addImport(node.source, false);
          },
          FunctionDeclaration: addFunction,
          FunctionExpression: addFunction,
          ArrowFunctionExpression: addFunction,
        }),
      },
    },
  };
  Deno.lint.runPlugin(plugin, path, source);
  const lines = source.endsWith("\n") ? lineStarts.length - 1 : lineStarts.length;
  return { path, lines, imports, functions };
}

/** Every module of the repository, parsed once. */
const facts: Promise<ModuleFacts[]> = (async () => {
  const paths = await sourceFiles();
  return await Promise.all(
    paths.map(async (path) => analyse(path, await Deno.readTextFile(join(ROOT, path)))),
  );
})();

/** The import edges between the repository's own modules (npm, node: and URLs left out). */
function edgesOf(modules: readonly ModuleFacts[]): ImportEdge[] {
  const known = new Set(modules.map((m) => m.path));
  const edges: ImportEdge[] = [];
  for (const m of modules) {
    for (const { specifier, typeOnly } of m.imports) {
      if (!specifier.startsWith(".")) continue;
      const to = normalize(join(dirname(m.path), specifier));
      assert.ok(known.has(to), `${m.path} imports ${specifier}, which is not a module here`);
      edges.push({ from: m.path, to, typeOnly });
    }
  }
  return edges;
}

/** Every import cycle, as the modules of each strongly connected component (Tarjan). */
export function importCycles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) {
    next.set(from, [...next.get(from) ?? [], to]);
    if (!next.has(to)) next.set(to, []);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v)!) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    for (let w = stack.pop()!;; w = stack.pop()!) {
      onStack.delete(w);
      component.push(w);
      if (w === v) break;
    }
    if (component.length > 1 || next.get(v)!.includes(v)) cycles.push(component.sort());
  };
  for (const v of [...next.keys()].sort()) if (!index.has(v)) visit(v);
  return cycles;
}

/** The top folder of a module (`central`, `shared`, …), or `.` for one at the root. */
function folderOf(path: string): string {
  const slash = path.indexOf("/");
  return slash === -1 ? "." : path.slice(0, slash);
}

/** Test code: cross-component tests, tests beside a module, and their support modules. */
function isTestCode(path: string): boolean {
  return path.startsWith("tests/") || /_test\.tsx?$/.test(path) ||
    /(^|\/)test_support\.ts$/.test(path);
}

/**
 * Whether `edge` crosses folders in a way the design allows; `undefined` when allowed, else why
 * not. Within one folder everything is allowed.
 */
export function forbiddenBecause(edge: ImportEdge): string | undefined {
  const from = folderOf(edge.from);
  const to = folderOf(edge.to);
  if (isTestCode(edge.from)) return undefined;
  if (isTestCode(edge.to)) return "only test code imports test code";
  if (from === "web") {
    if (to === "web") return undefined;
    if (edge.to === "central/wire.ts" && edge.typeOnly) return undefined;
    if (WEB_SHARED_SOURCES.includes(edge.to)) return undefined; // bundled for the page
    return "the page runs in a browser: it takes only types from central/wire.ts, and the " +
      "shared modules infra/web_build.ts bundles";
  }
  if (from === to) return undefined;
  if (from === "shared") return "shared/ is below every service and imports only itself";
  if (to === "shared") return undefined;
  if (edge.to === "registry/client.ts") return undefined;
  if (from === "fleet" && (to === "cp" || to === "driver")) return undefined; // hosts them
  if (from === "fleet" && to === "infra") return undefined; // the bench starts broker and network
  if (from === "ocpp" && to === "cp") return undefined; // hosts a CP for each charger
  return `${from}/ may use ${to}/ only through its client`;
}

Deno.test("structure: no module is part of an import cycle", async () => {
  const cycles = importCycles(edgesOf(await facts));
  assert.deepEqual(cycles, [], `import cycles:\n${cycles.map((c) => c.join(" → ")).join("\n")}`);
});

Deno.test("structure: no service imports another service's internals", async () => {
  const wrong = edgesOf(await facts).flatMap((edge) => {
    const why = forbiddenBecause(edge);
    return why === undefined ? [] : [`${edge.from} → ${edge.to}: ${why}`];
  });
  assert.deepEqual(wrong, []);
});

Deno.test("structure: the import rules catch a cycle and a reach into another service", () => {
  const edge = (from: string, to: string, typeOnly = false) => ({ from, to, typeOnly });
  assert.deepEqual(
    importCycles([
      edge("central/api.ts", "central/api_dashboard.ts"),
      edge("central/api_dashboard.ts", "central/dashboard.ts"),
      edge("central/dashboard.ts", "central/api.ts", true),
      edge("central/api.ts", "shared/log.ts"),
    ]),
    [["central/api.ts", "central/api_dashboard.ts", "central/dashboard.ts"]],
  );
  assert.deepEqual(importCycles([edge("a/x.ts", "a/x.ts")]), [["a/x.ts"]]);
  assert.ok(forbiddenBecause(edge("central/central.ts", "registry/credentials.ts")));
  assert.ok(forbiddenBecause(edge("infra/start.ts", "cp/terminal.ts")));
  assert.ok(forbiddenBecause(edge("shared/kafka.ts", "central/core.ts")));
  assert.ok(forbiddenBecause(edge("web/state.ts", "central/wire.ts")), "a value import");
  assert.ok(forbiddenBecause(edge("web/state.ts", "shared/messages.ts", true)));
  assert.equal(forbiddenBecause(edge("web/lang.ts", "shared/i18n.ts")), undefined, "bundled");
  assert.ok(forbiddenBecause(edge("central/core.ts", "tests/kafka_env.ts")));
  assert.equal(forbiddenBecause(edge("web/state.ts", "central/wire.ts", true)), undefined);
  assert.equal(forbiddenBecause(edge("central/central.ts", "registry/client.ts")), undefined);
  assert.equal(forbiddenBecause(edge("fleet/fleet.ts", "cp/engine.ts")), undefined);
  assert.equal(forbiddenBecause(edge("tests/x_test.ts", "central/core.ts")), undefined);
});

/** Each `key (lines)` of `sizes` over `max`, longest first. */
function overLimit(
  sizes: readonly { readonly key: string; readonly lines: number }[],
  max: number,
): string[] {
  return sizes.filter((s) => s.lines > max).sort((a, b) => b.lines - a.lines)
    .map((s) => `${s.key} (${s.lines})`);
}

Deno.test(`structure: no file over ${MAX_FILE_LINES} lines`, async () => {
  const sizes = (await facts).map((m) => ({ key: m.path, lines: m.lines }));
  assert.deepEqual(overLimit(sizes, MAX_FILE_LINES), [], "split these files by concept");
});

Deno.test(`structure: no function over ${MAX_FUNCTION_LINES} lines`, async () => {
  const sizes = (await facts).flatMap((m) => m.functions);
  assert.deepEqual(
    overLimit(sizes, MAX_FUNCTION_LINES),
    [],
    "break these functions into named steps",
  );
});

Deno.test("structure: the length limits name what is over them, longest first", () => {
  const sizes = [
    { key: "a.ts", lines: 701 },
    { key: "b.ts", lines: 700 },
    { key: "c.ts", lines: 900 },
  ];
  assert.deepEqual(overLimit(sizes, 700), ["c.ts (900)", "a.ts (701)"]);
});

Deno.test("structure: lengths are counted from the parsed source", () => {
  const source = [
    'import type { A } from "./a.ts";',
    'import { type B, C } from "../shared/c.ts";',
    "function outer() {",
    "  const inner = () => {",
    "    return 1;",
    "  };",
    "  return inner();",
    "}",
    'Deno.test("a test", () => {});',
    "",
  ].join("\n");
  const parsed = analyse("x/y.ts", source);
  assert.equal(parsed.lines, 9);
  assert.deepEqual(parsed.imports, [
    { specifier: "./a.ts", typeOnly: true },
    { specifier: "../shared/c.ts", typeOnly: false },
  ]);
  assert.deepEqual(parsed.functions, [
    { key: "x/y.ts outer", lines: 6 },
    { key: "x/y.ts inner", lines: 3 },
    { key: 'x/y.ts Deno.test("a test")', lines: 1 },
  ]);
});
