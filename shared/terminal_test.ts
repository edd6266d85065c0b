import assert from "node:assert/strict";
import {
  colours,
  enterScreen,
  leaveScreen,
  noColorRequested,
  packItems,
  paintFor,
  plain,
  quietly,
  redrawFrame,
  type Style,
} from "./terminal.ts";

// The exact bytes the components wrote before they shared this module.
const CODES: Record<Style, string> = {
  bold: "1",
  dim: "2",
  red: "31",
  green: "32",
  yellow: "33",
  blue: "34",
  cyan: "36",
  grey: "90",
  orange: "38;5;208",
};

Deno.test("each style wraps its text in its SGR code and a reset", () => {
  for (const [style, code] of Object.entries(CODES) as [Style, string][]) {
    assert.equal(colours[style]("ACTIVATED"), `\x1b[${code}mACTIVATED\x1b[0m`, style);
    assert.equal(plain[style]("ACTIVATED"), "ACTIVATED", style);
  }
  assert.deepEqual(Object.keys(colours).sort(), Object.keys(CODES).sort());
  assert.deepEqual(Object.keys(plain).sort(), Object.keys(CODES).sort());
  assert.equal(colours.red(""), "\x1b[31m\x1b[0m");
});

Deno.test("paintFor is the colour switch: colours on, plain off", () => {
  assert.equal(paintFor(true), colours);
  assert.equal(paintFor(false), plain);
});

Deno.test("the screen is taken and given back in mirror order", () => {
  assert.equal(enterScreen(), "\x1b[?1049h\x1b[?25l");
  assert.equal(leaveScreen(), "\x1b[?25h\x1b[?1049l");
  assert.equal(enterScreen({ noWrap: true }), "\x1b[?1049h\x1b[?25l\x1b[?7l");
  assert.equal(leaveScreen({ noWrap: true }), "\x1b[?7h\x1b[?25h\x1b[?1049l");
  assert.equal(enterScreen({ hideCursor: false }), "\x1b[?1049h");
  assert.equal(leaveScreen({ hideCursor: false }), "\x1b[?1049l");
});

Deno.test("a frame goes home, clears each line's end and what is below, with \\r\\n only", () => {
  assert.equal(redrawFrame(["one", "two"]), "\x1b[Hone\x1b[K\r\ntwo\x1b[K\x1b[J");
  assert.equal(redrawFrame([]), "\x1b[H\x1b[J");
  assert.ok(!/[^\r]\n/.test(redrawFrame(["a", "b", "c"])), "raw terminals do not return");
});

Deno.test("quietly runs the write and ignores its failure", () => {
  const written: string[] = [];
  quietly(() => written.push("line"));
  assert.deepEqual(written, ["line"]);
  quietly(() => {
    throw new Error("Input/output error (os error 5)");
  });
});

Deno.test("noColorRequested: NO_COLOR set to anything but empty turns colour off", () => {
  // Each value given, so the test does not read the environment: the test runner itself sets
  // NO_COLOR when its output is not a terminal.
  assert.equal(noColorRequested(""), false);
  assert.equal(noColorRequested("1"), true);
  assert.equal(noColorRequested("0"), true, "any value counts (no-color.org)");
  assert.equal(paintFor(!noColorRequested("1")).red("x"), "x");
});

Deno.test("packItems: a key help fits the width without breaking an item", () => {
  const help =
    "p plug in   u unplug   f fault on/off   k kill the engine   K kill the monitor   q quit";
  const lines = packItems(help, 40);
  assert.deepEqual(lines, [
    "  p plug in   u unplug   f fault on/off",
    "  k kill the engine   K kill the monitor",
    "  q quit",
  ]);
  assert.ok(lines.every((l) => l.length <= 40));
  assert.deepEqual(packItems("a   b", 78, ""), ["a   b"], "short: one line");
  assert.deepEqual(packItems("x".repeat(50) + "   y", 20), ["  " + "x".repeat(50), "  y"]);
  assert.deepEqual(packItems(""), []);
});
