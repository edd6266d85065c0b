/**
 * The escape codes of the components' terminal views (Central's panel, the CP and driver
 * screens, the weather office's menu, `deno task start`'s status screen), as pure text: text
 * styles, taking and giving back the screen, and a frame that redraws it in place. The
 * components write the text themselves; {@link quietly} keeps a write to a closed terminal from
 * ending a process that must still stop what it runs.
 *
 * Colour is the caller's switch ({@link paintFor}): every component colours only what it draws
 * on a terminal, never when `NO_COLOR` is set ({@link noColorRequested}), and writes plain log
 * records anywhere else. The state colours are those of
 * ARCHITECTURE §CP states:
 * green ACTIVATED and SUPPLYING, orange STOPPED ("Out of Order"), red BROKEN, grey
 * DISCONNECTED.
 *
 * @module
 */

/** Control Sequence Introducer: ESC `[`. */
const CSI = "\x1b[";

/** The SGR parameter of each style. */
const SGR = {
  bold: "1",
  dim: "2",
  red: "31",
  green: "32",
  yellow: "33",
  blue: "34",
  cyan: "36",
  grey: "90",
  orange: "38;5;208", // 256-colour: the 16 basic colours have no orange
} as const;

/** A text style. */
export type Style = keyof typeof SGR;

/** Every style as a function of the text it wraps. */
export type Paint = { readonly [S in Style]: (text: string) => string };

/** `text` in `style`, then a reset, so the style never runs into what follows. */
function styled(style: Style, text: string): string {
  return `${CSI}${SGR[style]}m${text}${CSI}0m`;
}

function paintWith(wrap: (style: Style, text: string) => string): Paint {
  const styles = Object.keys(SGR) as Style[];
  return Object.fromEntries(styles.map((s) => [s, (text: string) => wrap(s, text)])) as Paint;
}

/** ANSI styles, for a terminal. */
export const colours: Paint = paintWith(styled);

/** No styling: the text as it is (pipes, files, tests). */
export const plain: Paint = paintWith((_style, text) => text);

/**
 * Whether the user asked for no colour: `NO_COLOR` set to anything but the empty string
 * (https://no-color.org). `value` is the variable's value (default: this process's).
 */
export function noColorRequested(
  value: string | undefined = Deno.env.get("NO_COLOR"),
): boolean {
  return value !== undefined && value !== "";
}

/** {@link colours} if `color`, else {@link plain}. */
export function paintFor(color: boolean): Paint {
  return color ? colours : plain;
}

/** How a full-screen view holds the terminal. */
export interface ScreenOptions {
  /** Hide the cursor (a view that asks no questions). Default `true`. */
  readonly hideCursor?: boolean;
  /** Cut long lines instead of wrapping them. Default `false`. */
  readonly noWrap?: boolean;
}

/**
 * Takes the terminal for a full-screen view: the alternate screen (the shell's screen comes back
 * intact at {@link leaveScreen}), then the cursor and line-wrap settings of `options`.
 */
export function enterScreen(options: ScreenOptions = {}): string {
  const { hideCursor = true, noWrap = false } = options;
  return `${CSI}?1049h${hideCursor ? `${CSI}?25l` : ""}${noWrap ? `${CSI}?7l` : ""}`;
}

/** Gives the terminal back as {@link enterScreen} with the same `options` found it. */
export function leaveScreen(options: ScreenOptions = {}): string {
  const { hideCursor = true, noWrap = false } = options;
  return `${noWrap ? `${CSI}?7h` : ""}${hideCursor ? `${CSI}?25h` : ""}${CSI}?1049l`;
}

/**
 * Redraws the screen with `lines` in place: cursor home, each line cleared to its end, then
 * everything below cleared, so nothing scrolls, flickers or stays behind from a longer frame.
 */
export function redrawFrame(lines: readonly string[]): string {
  return `${CSI}H${lines.map((line) => `${line}${CSI}K`).join("\r\n")}${CSI}J`;
}

/** Width a screen's text is packed to: an 80-column terminal, less a margin. */
export const SCREEN_WIDTH = 78;

/**
 * A key help such as `p plug   u unplug   q quit` (items apart by three or more spaces) packed
 * into lines of at most `width` columns, each starting with `indent`, so that a narrow terminal
 * does not break an item in two. An item longer than a line gets a line of its own.
 */
export function packItems(help: string, width = SCREEN_WIDTH, indent = "  "): string[] {
  const lines: string[] = [];
  let line = "";
  for (const item of help.trim().split(/ {3,}/)) {
    const next = line === "" ? item : `${line}   ${item}`;
    if (line !== "" && indent.length + next.length > width) {
      lines.push(indent + line);
      line = item;
    } else {
      line = next;
    }
  }
  if (line !== "") lines.push(indent + line);
  return lines;
}

/** Cursor home, then the whole screen cleared: a screen drawn afresh. */
export const CLEAR_SCREEN = `${CSI}H${CSI}2J`;

/** Back to the start of the line, cleared: a single line redrawn in place. */
export const CLEAR_LINE = `\r${CSI}K`;

/**
 * Runs `print`, a write to the terminal, and ignores its failure: once the terminal is closed
 * every write fails (EIO, which `console.log` throws too), and a process told to stop by that
 * very hang-up must still get to stop what it runs.
 */
export function quietly(print: () => void): void {
  try {
    print();
  } catch {
    // No terminal left to write to.
  }
}
