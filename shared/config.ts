/**
 * Command-line and environment configuration for every EVCharging process.
 *
 * A component declares its options once, as a spec; {@link parseConfig}
 * turns `Deno.args` and the environment into a typed object, or throws a
 * {@link ConfigError} whose message names the flag (and its env variable) and
 * says what was expected. Precedence: flag, then positional argument, then
 * environment variable, then default.
 *
 * ```ts
 * const spec = defineConfig({
 *   name: "central",
 *   summary: "Supervises the charging network.",
 *   options: {
 *     port: option(port, { flag: "port", env: "CENTRAL_PORT", default: 8080, help: "HTTP port" }),
 *   },
 * });
 * const config = loadConfig(spec); // { port: number }
 * ```
 *
 * @module
 */
import { versionLine } from "./version.ts";
import { DEFAULT_LANG, type Lang, parseLang } from "./i18n.ts";
import { LOG_LEVELS } from "./log.ts";
import { parseArgs } from "node:util";

/**
 * Turns the raw text of a flag or variable into a value. Throws an `Error`
 * whose message says what was expected (for example `a TCP port 1–65535`);
 * {@link parseConfig} adds the flag name and the offending value.
 */
export type Parser<T> = (raw: string) => T;

/** One option of a component: where its value comes from and how it is read. */
export interface OptionSpec<T> {
  /** Long flag name without dashes, e.g. `broker` for `--broker`. */
  readonly flag: string;
  /** Environment variable used when the flag is absent. */
  readonly env?: string;
  /** Index of the positional argument that may carry the value (the original brief's CLI style). */
  readonly position?: number;
  /** One line for `--help`. */
  readonly help: string;
  /** Reads the raw text. */
  readonly parse: Parser<T>;
  /** A switch that takes no value (`--no-tui`). */
  readonly boolean?: boolean;
  /** Value when neither flag, position nor env gives one. */
  readonly default?: T;
  /** No default and not required: the value may be `undefined`. */
  readonly optional?: boolean;
  /** Never echo the value in errors (keys, tokens). */
  readonly secret?: boolean;
}

/** The whole configuration of one process. */
export interface ConfigSpec<O extends Record<string, OptionSpec<unknown>>> {
  /** Program name for usage text, e.g. `central`. */
  readonly name: string;
  /** One sentence on what the program does. */
  readonly summary: string;
  /** The options, by the property name they get in the parsed object. */
  readonly options: O;
}

/** The typed object that {@link parseConfig} returns for a spec. */
export type ConfigOf<O extends Record<string, OptionSpec<unknown>>> = {
  -readonly [K in keyof O]: O[K] extends OptionSpec<infer T>
    ? O[K] extends { readonly default: unknown } ? T
    : O[K] extends { readonly optional: true } ? T | undefined
    : T
    : never;
};

/** A bad flag, a bad value or a missing required option. */
export class ConfigError extends Error {
  /** Usage text of the program, to print after the message. */
  readonly usage: string;

  /** Creates the error with its message and the program's usage text. */
  constructor(message: string, usage: string) {
    super(message);
    this.name = "ConfigError";
    this.usage = usage;
  }
}

/** Thrown by {@link parseConfig} for `--help`: not a failure, the caller prints `usage`. */
export class HelpRequested extends Error {
  /** Usage text of the program. */
  readonly usage: string;

  /** Creates the signal carrying the usage text. */
  constructor(usage: string) {
    super("help requested");
    this.name = "HelpRequested";
    this.usage = usage;
  }
}

/** Thrown by {@link parseConfig} for `--version`: not a failure, the caller prints `text`. */
export class VersionRequested extends Error {
  /** What to print: the program, its version. */
  readonly text: string;

  /** Creates the signal carrying the version line. */
  constructor(text: string) {
    super("version requested");
    this.name = "VersionRequested";
    this.text = text;
  }
}

/** Flags every program has, so no option may take them. */
const RESERVED_FLAGS = new Set(["help", "version"]);

const FLAG_NAME = /^[a-z][a-z0-9-]*$/;

/**
 * Checks a spec once, at definition, so a typo in a component's option list
 * fails at start-up rather than on some later command line.
 */
export function defineConfig<O extends Record<string, OptionSpec<unknown>>>(
  spec: ConfigSpec<O>,
): ConfigSpec<O> {
  const flags = new Set<string>();
  const positions = new Set<number>();
  for (const [key, opt] of Object.entries(spec.options)) {
    if (!FLAG_NAME.test(opt.flag)) {
      throw new TypeError(`option ${key}: flag "${opt.flag}" must be lower-case kebab-case`);
    }
    if (RESERVED_FLAGS.has(opt.flag) || flags.has(opt.flag)) {
      throw new TypeError(`option ${key}: flag --${opt.flag} is already taken`);
    }
    flags.add(opt.flag);
    if (opt.position !== undefined) {
      if (positions.has(opt.position)) {
        throw new TypeError(`option ${key}: position ${opt.position} is already taken`);
      }
      positions.add(opt.position);
    }
  }
  return spec;
}

/**
 * Builds an option from a parser and its description, so specs read as a
 * list of `name: option(parser, {...})` lines.
 */
export function option<T, const E extends Omit<OptionSpec<T>, "parse">>(
  parse: Parser<T>,
  spec: E,
): E & { readonly parse: Parser<T> } {
  return { ...spec, parse };
}

/** Builds an on/off switch: `--flag` alone, or env `1|true|yes|on` / `0|false|no|off`. */
export function flag<const E extends Omit<OptionSpec<boolean>, "parse" | "boolean" | "default">>(
  spec: E,
): E & { readonly parse: Parser<boolean>; readonly boolean: true; readonly default: false } {
  return { ...spec, parse: boolean, boolean: true, default: false };
}

/**
 * Parses `args` (default `Deno.args`) and `env` (default the process
 * environment) against `spec`.
 *
 * @throws {ConfigError} for an unknown flag, a bad value or a missing option.
 * @throws {HelpRequested} for `-h` or `--help`.
 * @throws {VersionRequested} for `--version`.
 */
export function parseConfig<O extends Record<string, OptionSpec<unknown>>>(
  spec: ConfigSpec<O>,
  args: string[] = Deno.args,
  env: Record<string, string | undefined> = Deno.env.toObject(),
): ConfigOf<O> {
  const usage = formatUsage(spec);
  const parseOptions: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
    version: { type: "boolean" },
  };
  for (const opt of Object.values(spec.options)) {
    parseOptions[opt.flag] = { type: opt.boolean ? "boolean" : "string" };
  }

  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args, options: parseOptions, allowPositionals: true, strict: true });
  } catch (error) {
    throw new ConfigError(describeParseArgsError(error), usage);
  }
  if (parsed.values.help) throw new HelpRequested(usage);
  if (parsed.values.version) throw new VersionRequested(versionLine(spec.name));

  const maxPosition = Math.max(
    -1,
    ...Object.values(spec.options).map((o) => o.position ?? -1),
  );
  if (parsed.positionals.length > maxPosition + 1) {
    const extra = parsed.positionals[maxPosition + 1];
    throw new ConfigError(`unexpected argument "${extra}"`, usage);
  }

  const result: Record<string, unknown> = {};
  for (const [key, opt] of Object.entries(spec.options)) {
    const fromFlag = parsed.values[opt.flag];
    const fromPosition = opt.position === undefined ? undefined : parsed.positionals[opt.position];
    const fromEnv = opt.env === undefined ? undefined : env[opt.env];
    const source = describeSource(opt);

    if (typeof fromFlag === "boolean") {
      result[key] = fromFlag;
      continue;
    }
    const raw = fromFlag ?? fromPosition ?? (fromEnv === "" ? undefined : fromEnv);
    if (raw === undefined) {
      if ("default" in opt) result[key] = opt.default;
      else if (opt.optional) result[key] = undefined;
      else throw new ConfigError(`${source} is required: ${opt.help}`, usage);
      continue;
    }
    try {
      result[key] = opt.parse(raw);
    } catch (error) {
      const expected = error instanceof Error ? error.message : String(error);
      const got = opt.secret ? "" : `, got ${JSON.stringify(raw)}`;
      throw new ConfigError(`${source}: expected ${expected}${got}`, usage);
    }
  }
  return result as ConfigOf<O>;
}

/**
 * The edge for a process's `main.ts`: parses the real command line, prints
 * usage and exits 0 on `-h`/`--help`, the version on `--version`, prints the error and exits 2
 * on a bad one.
 */
export function loadConfig<O extends Record<string, OptionSpec<unknown>>>(
  spec: ConfigSpec<O>,
): ConfigOf<O> {
  try {
    return parseConfig(spec);
  } catch (error) {
    if (error instanceof HelpRequested) {
      console.log(error.usage);
      Deno.exit(0);
    }
    if (error instanceof VersionRequested) {
      console.log(error.text);
      Deno.exit(0);
    }
    if (error instanceof ConfigError) {
      console.error(`${spec.name}: ${error.message}\n\n${error.usage}`);
      Deno.exit(2);
    }
    throw error;
  }
}

/** Renders `--help` text: one line per option with its env variable and default. */
export function formatUsage<O extends Record<string, OptionSpec<unknown>>>(
  spec: ConfigSpec<O>,
): string {
  const options = Object.values(spec.options);
  const positionals = options
    .filter((o) => o.position !== undefined)
    .sort((a, b) => (a.position ?? 0) - (b.position ?? 0))
    .map((o) => `[${o.flag}]`);
  const lines = [
    `Usage: ${spec.name} [options] ${positionals.join(" ")}`.trimEnd(),
    "",
    spec.summary,
    "",
    "Options:",
  ];
  for (const opt of options) {
    const name = opt.boolean ? `--${opt.flag}` : `--${opt.flag} <value>`;
    const notes = [
      opt.env ? `env ${opt.env}` : "",
      "default" in opt && !opt.boolean && !opt.secret ? `default ${String(opt.default)}` : "",
      !("default" in opt) && !opt.optional ? "required" : "",
    ].filter((n) => n !== "");
    const suffix = notes.length > 0 ? ` (${notes.join("; ")})` : "";
    lines.push(`  ${name.padEnd(28)} ${opt.help}${suffix}`);
  }
  lines.push(`  ${"-h, --help".padEnd(28)} Show this help`);
  lines.push(`  ${"--version".padEnd(28)} Show the version`);
  return lines.join("\n");
}

function describeSource(opt: OptionSpec<unknown>): string {
  return opt.env ? `--${opt.flag} (env ${opt.env})` : `--${opt.flag}`;
}

function describeParseArgsError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const unknown = message.match(/Unknown option '([^']+)'/);
  if (unknown) return `unknown flag ${unknown[1]}`;
  const missing = message.match(/Option '([^']+?)(?: <value>)?' argument missing/);
  if (missing) return `${missing[1].split(",").pop()?.trim()} needs a value`;
  // parseArgs takes no value that starts with a dash after a space: a negative number, or the
  // next flag when the value was forgotten.
  const ambiguous = message.match(/Option '([^']+)' argument is ambiguous/);
  if (ambiguous) {
    const name = ambiguous[1];
    return `${name} needs a value (one that starts with "-" is written ${name}=-1)`;
  }
  return message.split("\n")[0];
}

// ---------------------------------------------------------------- parsers

/** Any non-empty string. */
export const text: Parser<string> = (raw) => {
  if (raw.trim() === "") throw new Error("a non-empty value");
  return raw;
};

/**
 * A secret given on the command line or in the environment (a key, a token): at least
 * `minChars` characters and no spaces around it (a pasted newline would otherwise become part
 * of it). The error never repeats the value.
 */
export function secret(minChars: number): Parser<string> {
  if (!Number.isInteger(minChars) || minChars < 1) {
    throw new RangeError(`secret: minChars must be a positive integer, got ${minChars}`);
  }
  return (raw) => {
    if (raw.length < minChars || raw.trim() !== raw) {
      throw new Error(`a secret of at least ${minChars} characters without spaces around it`);
    }
    return raw;
  };
}

/** A TCP port 1–65535; `0` is allowed only through {@link portOrZero}. */
export const port: Parser<number> = (raw) => {
  const n = strictInteger(raw);
  if (n === undefined || n < 1 || n > 65535) throw new Error("a TCP port 1–65535");
  return n;
};

/** A TCP port, or 0 for "any free port" (tests, several processes on one machine). */
export const portOrZero: Parser<number> = (raw) => {
  const n = strictInteger(raw);
  if (n === undefined || n < 0 || n > 65535) throw new Error("a TCP port 0–65535");
  return n;
};

/** An integer within `[min, max]`. */
export function integer(min: number, max: number): Parser<number> {
  return (raw) => {
    const n = strictInteger(raw);
    if (n === undefined || n < min || n > max) throw new Error(`an integer ${min}–${max}`);
    return n;
  };
}

/** A finite decimal number within `[min, max]`. */
export function decimal(min: number, max: number): Parser<number> {
  return (raw) => {
    const n = /^-?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : NaN;
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`a number ${min}–${max}`);
    return n;
  };
}

/**
 * A duration in milliseconds: `250ms`, `3s`, `2m`, or a bare number of
 * milliseconds. Must be positive.
 */
export const duration: Parser<number> = (raw) => {
  const match = raw.trim().match(/^(\d+(?:\.\d+)?)(ms|s|m)?$/);
  if (!match) throw new Error("a duration like 500ms, 3s or 2m");
  const scale = { ms: 1, s: 1000, m: 60_000 }[match[2] ?? "ms"] ?? 1;
  const ms = Number(match[1]) * scale;
  if (ms <= 0) throw new Error("a positive duration");
  return Math.round(ms);
};

/** A `host:port` address (IPv6 hosts in brackets), returned as `{host, port}`. */
export const hostPort: Parser<{ host: string; port: number }> = (raw) => {
  const match = raw.trim().match(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/);
  const portNumber = match ? Number(match[2]) : 0;
  if (!match || portNumber < 1 || portNumber > 65535) {
    throw new Error("host:port, e.g. 127.0.0.1:9092");
  }
  return { host: match[1].replace(/^\[|\]$/g, ""), port: portNumber };
};

/** A comma-separated list of Kafka brokers, each `host:port`. */
export const brokerList: Parser<string[]> = (raw) => {
  const brokers = raw.split(",").map((b) => b.trim()).filter((b) => b !== "");
  if (brokers.length === 0) throw new Error("one or more host:port brokers, comma-separated");
  for (const broker of brokers) {
    try {
      hostPort(broker);
    } catch {
      throw new Error(`host:port brokers, comma-separated (bad entry "${broker}")`);
    }
  }
  return brokers;
};

/** An absolute `http:` or `https:` URL, without a trailing slash. */
export const httpUrl: Parser<string> = (raw) => {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new Error("an http(s) URL, e.g. https://127.0.0.1:8443");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error("an http(s) URL, e.g. https://127.0.0.1:8443");
  }
  return url.href.replace(/\/$/, "");
};

/** One of a fixed set of words. */
export function oneOf<const T extends string>(choices: readonly T[]): Parser<T> {
  return (raw) => {
    const value = raw.trim() as T;
    if (!choices.includes(value)) throw new Error(`one of ${choices.join(", ")}`);
    return value;
  };
}

/**
 * The `--lang` option every program with a screen has: `en` or `es`, else the `LANG` locale
 * (`es_ES.UTF-8` → Spanish; any other language → English).
 */
export const langOption = option(parseLang, {
  flag: "lang",
  env: "LANG",
  default: DEFAULT_LANG as Lang,
  help: "Language of the screen: en or es (a LANG locale such as es_ES.UTF-8 works too; " +
    "other languages fall back to en)",
});

/**
 * The Kafka bootstrap brokers every Kafka client takes (`--broker`, `KAFKA_BROKERS`, the local
 * broker by default); with `position` they may be given bare.
 */
export function brokersOption(
  position?: number,
  help = "Kafka broker(s), host:port[,host:port…]",
) {
  return option(brokerList, {
    flag: "broker",
    env: "KAFKA_BROKERS",
    position,
    default: ["127.0.0.1:9092"],
    help,
  });
}

/** The lowest log level a process writes (`--log-level`, `LOG_LEVEL`), `fallback` by default. */
export function logLevelOption(
  fallback: (typeof LOG_LEVELS)[number] = "info",
  help = "lowest log level written",
) {
  return option(oneOf(LOG_LEVELS), {
    flag: "log-level",
    env: "LOG_LEVEL",
    default: fallback,
    help,
  });
}

/** How log lines look (`--log-format`, `LOG_FORMAT`): JSON, for people, or pretty on a terminal. */
export function logFormatOption(help: string) {
  return option(oneOf(["auto", "json", "pretty"] as const), {
    flag: "log-format",
    env: "LOG_FORMAT",
    default: "auto",
    help,
  });
}

/** `1|true|yes|on` or `0|false|no|off`, for switches set through the environment. */
export const boolean: Parser<boolean> = (raw) => {
  const value = raw.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(value)) return true;
  if (["0", "false", "no", "off"].includes(value)) return false;
  throw new Error("true or false");
};

function strictInteger(raw: string): number | undefined {
  if (!/^-?\d+$/.test(raw.trim())) return undefined;
  const n = Number(raw);
  return Number.isSafeInteger(n) ? n : undefined;
}
