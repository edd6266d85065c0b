/**
 * WCAG 2.1 contrast, with no DOM: the relative luminance of an sRGB colour and the contrast ratio
 * of two (1 to 21). The dashboard's colours (web/app.css) are checked against the AA thresholds
 * with it: text 4.5:1 ({@link AA_TEXT}), controls' borders and other UI parts 3:1
 * ({@link AA_UI}).
 *
 * @module
 */

/** WCAG 2.1 AA minimum for normal text (1.4.3). */
export const AA_TEXT = 4.5;
/** WCAG 2.1 AA minimum for user interface components and graphics (1.4.11). */
export const AA_UI = 3;

/**
 * The `[r, g, b]` (0–255) of a `#rgb` or `#rrggbb` colour.
 * @throws {TypeError} for anything else.
 */
export function parseHex(colour: string): [number, number, number] {
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(colour.trim());
  if (m === null) throw new TypeError(`not a #rgb or #rrggbb colour: ${JSON.stringify(colour)}`);
  const hex = m[1].length === 3 ? [...m[1]].map((c) => c + c).join("") : m[1];
  return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
}

/** The relative luminance (0 black – 1 white) of a `#rrggbb` colour. */
export function luminance(colour: string): number {
  const [r, g, b] = parseHex(colour).map((c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** The contrast ratio of two colours, in either order: 1 (none) to 21 (black on white). */
export function contrastRatio(a: string, b: string): number {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (light + 0.05) / (dark + 0.05);
}

/** The custom properties (`--name: #hex;`) a stylesheet's text defines, by name without `--`. */
export function cssColours(css: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of css.matchAll(/--([a-z0-9-]+):\s*(#[0-9a-f]{3,6})\s*;/gi)) out[m[1]] = m[2];
  return out;
}
