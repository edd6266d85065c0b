import assert from "node:assert/strict";
import { join } from "node:path";
import { AA_TEXT, AA_UI, contrastRatio, cssColours, luminance, parseHex } from "./contrast.ts";

Deno.test("contrast: black on white is 21, a colour on itself 1, in either order", () => {
  assert.equal(contrastRatio("#000000", "#ffffff"), 21);
  assert.equal(contrastRatio("#fff", "#000"), 21);
  assert.equal(contrastRatio("#2456d6", "#2456d6"), 1);
  assert.equal(contrastRatio("#777777", "#ffffff"), contrastRatio("#ffffff", "#777777"));
  // WCAG's own example: #767676 on white is the lightest grey that passes 4.5:1.
  assert.ok(contrastRatio("#767676", "#ffffff") >= 4.5);
  assert.ok(contrastRatio("#777777", "#ffffff") < 4.5);
});

Deno.test("contrast: the issue's measured failures are below AA", () => {
  // The old orange state text on its tinted tile, and the old input border on white.
  assert.equal(Math.round(contrastRatio("#e07b00", "#fff1de") * 100) / 100, 2.7);
  assert.equal(Math.round(contrastRatio("#e1e6ee", "#ffffff") * 100) / 100, 1.25);
});

Deno.test("contrast: bad colours are a clear error", () => {
  assert.deepEqual(parseHex("#0a0B0c"), [10, 11, 12]);
  assert.equal(luminance("#ffffff"), 1);
  for (const bad of ["red", "#12", "#1234567", "rgb(0,0,0)", ""]) {
    assert.throws(() => parseHex(bad), TypeError, bad);
  }
});

/** [foreground, background, minimum, where] for every colour pair web/app.css draws. */
const PAIRS: [string, string, number, string][] = [
  ["ink", "bg", AA_TEXT, "body text"],
  ["ink", "panel", AA_TEXT, "panel text"],
  ["muted", "panel", AA_TEXT, "secondary text, headings"],
  ["muted", "bg", AA_TEXT, "health details"],
  ["green-ink", "green-bg", AA_TEXT, "Available / Charging tile state"],
  ["orange-ink", "orange-bg", AA_TEXT, "Out of Order tile state"],
  ["red-ink", "red-bg", AA_TEXT, "Broken tile state, alert chip, error notice"],
  ["grey-ink", "grey-bg", AA_TEXT, "Disconnected tile state"],
  ["muted", "green-bg", AA_TEXT, "city and figures on a green tile"],
  ["muted", "orange-bg", AA_TEXT, "city and figures on an orange tile"],
  ["muted", "red-bg", AA_TEXT, "city and figures on a red tile"],
  ["muted", "grey-bg", AA_TEXT, "city and figures on a grey tile"],
  ["ink", "grey-bg", AA_TEXT, "count chips"],
  ["red-ink", "panel", AA_TEXT, "denied audit rows, weather alerts"],
  ["green-ink", "panel", AA_TEXT, "the logo"],
  ["accent", "panel", AA_TEXT, "links, ghost buttons"],
  ["panel", "accent", AA_TEXT, "buttons"],
  ["panel", "red", AA_TEXT, "danger buttons, the offline banner"],
  ["panel", "ink", AA_TEXT, "the admin badge"],
  ["line-strong", "panel", AA_UI, "input, select and button borders"],
  ["accent", "panel", AA_UI, "the focus ring"],
  ["accent", "bg", AA_UI, "the focus ring on the page"],
];

Deno.test("contrast: every colour pair of the dashboard meets WCAG 2.1 AA", async () => {
  const css = await Deno.readTextFile(join(import.meta.dirname!, "app.css"));
  const colours = cssColours(css);
  const failing = PAIRS.flatMap(([fg, bg, min, where]) => {
    assert.ok(colours[fg] && colours[bg], `--${fg} and --${bg} are defined`);
    const ratio = contrastRatio(colours[fg], colours[bg]);
    return ratio >= min ? [] : [`${where}: ${fg} on ${bg} is ${ratio.toFixed(2)}:1 < ${min}:1`];
  });
  assert.deepEqual(failing, []);
});

Deno.test("contrast: cssColours reads custom properties of hex colours", () => {
  assert.deepEqual(cssColours(":root {\n  --ink: #1d2430;\n  --Big: #FFF;\n  --x: 1px;\n}"), {
    ink: "#1d2430",
    Big: "#FFF",
  });
});
