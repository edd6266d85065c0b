/**
 * Structured logging for every EVCharging process, built on LogTape.
 *
 * Library code only calls {@link getLogger}; a process's `main.ts` calls
 * {@link setupLogging} once. Records are JSON lines when the output is not a
 * terminal (for machines), coloured readable lines when it is (for people).
 * Every sink sits behind a redaction step, so a secret passed as a property
 * by mistake (credentials, tokens, keys) is replaced before it is written.
 * A Web Worker calls {@link setupForwardedLogging} instead: its records cross
 * to the thread that started it, which writes them with {@link emitForwarded}
 * through its own (redacted) sinks.
 *
 * @module
 */
import {
  configure,
  getAnsiColorFormatter,
  getLogger,
  getStreamSink,
  getTextFormatter,
  jsonLinesFormatter,
  type LogLevel,
  type LogRecord,
  reset,
  type Sink,
  type TextFormatter,
} from "@logtape/logtape";
import { type FieldPatterns, redactByField } from "@logtape/redaction";
import { noColorRequested } from "./terminal.ts";

export { getLogger } from "@logtape/logtape";
export type { Logger, LogLevel, LogRecord, Sink } from "@logtape/logtape";

/** Every category of this project starts with this, so one config covers all. */
export const ROOT_CATEGORY = "evcharging";

/** Log levels accepted by `--log-level` / `LOG_LEVEL`. */
export const LOG_LEVELS = ["trace", "debug", "info", "warning", "error", "fatal"] as const;

/** Output shape: `json` lines, `pretty` coloured lines, or `auto` (pretty on a terminal). */
export type LogFormat = "json" | "pretty" | "auto";

/**
 * Property names whose values are never written. Matches `credentials`,
 * `token`, `accessToken`, `authorization`, `secret`, `password`, `key`,
 * `cpKey`, `masterKey`, `adminKey`, `api_key`, … but not `keyVersion`.
 */
export const SECRET_FIELDS: FieldPatterns = [
  /credential/i,
  /token/i,
  /secret/i,
  /passw/i,
  /authorization/i,
  /(^|[a-z_])key$/i,
];

/** What replaces a redacted value. */
export const REDACTED = "[REDACTED]";

/** Options for {@link setupLogging}. */
export interface LoggingOptions {
  /** Lowest level written. Default `info`. */
  readonly level?: LogLevel;
  /** Output shape. Default `auto`. */
  readonly format?: LogFormat;
  /** Where lines go. Default standard output. */
  readonly stream?: WritableStream<Uint8Array>;
  /** Whether `stream` is a terminal, for `auto`. Default: standard output's answer. */
  readonly isTerminal?: boolean;
  /** Readable lines without colour. Default: whether `NO_COLOR` is set. */
  readonly noColor?: boolean;
  /** Extra sinks (for example a terminal panel's message list), also redacted. */
  readonly extraSinks?: readonly Sink[];
}

/**
 * Picks the formatter for a format, terminal-ness and `NO_COLOR` (readable lines stay readable,
 * without escape codes): a pure choice, so it is tested without any stream.
 */
export function chooseFormatter(
  format: LogFormat,
  isTerminal: boolean,
  noColor = false,
): TextFormatter {
  const pretty = format === "pretty" || (format === "auto" && isTerminal);
  if (!pretty) return jsonLinesFormatter;
  const options = { timestamp: "time", level: "FULL", category: "." } as const;
  return noColor ? getTextFormatter(options) : getAnsiColorFormatter(options);
}

/** Wraps a sink so every record passes through {@link SECRET_FIELDS} redaction first. */
export function redacted(sink: Sink): Sink {
  return redactByField(sink, { fieldPatterns: SECRET_FIELDS, action: () => REDACTED });
}

/**
 * Configures LogTape for this process: every `evcharging.*` logger (and
 * kafkajs, which is bridged under `evcharging.kafka`) writes to one redacted
 * stream sink. Safe to call again: it replaces the previous configuration.
 */
export async function setupLogging(options: LoggingOptions = {}): Promise<void> {
  const stream = options.stream ?? Deno.stdout.writable;
  const isTerminal = options.isTerminal ?? Deno.stdout.isTerminal();
  const formatter = chooseFormatter(
    options.format ?? "auto",
    isTerminal,
    options.noColor ?? noColorRequested(),
  );
  const sinks: Record<string, Sink> = {
    main: redacted(getStreamSink(stream, { formatter })),
  };
  (options.extraSinks ?? []).forEach((sink, i) => sinks[`extra${i}`] = redacted(sink));
  await configure({
    reset: true,
    sinks,
    loggers: [
      {
        category: [ROOT_CATEGORY],
        lowestLevel: options.level ?? "info",
        sinks: Object.keys(sinks),
      },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["main"] },
    ],
  });
}

/** Flushes and removes the logging configuration (end of a process or a test). */
export async function stopLogging(): Promise<void> {
  await reset();
}

/**
 * A process's orderly end: `stop` runs once, on SIGINT, SIGTERM or a call of the returned
 * function (a quit key, the end of a menu), then the logs are flushed and the process exits 0. A
 * second signal while it stops is ignored.
 */
export function endOnSignals(stop: () => Promise<void> | void): () => Promise<void> {
  let ending = false;
  const end = async () => {
    if (ending) return;
    ending = true;
    await stop();
    await stopLogging();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", end);
  Deno.addSignalListener("SIGTERM", end);
  return end;
}

/** A sink that keeps records in memory, for tests that check what was logged. */
export function memorySink(): Sink & { records: LogRecord[] } {
  const records: LogRecord[] = [];
  const sink = (record: LogRecord) => {
    records.push(record);
  };
  return Object.assign(sink, { records });
}

/**
 * Runs `test` with logging at `level` kept in memory only (nothing is written), handing it the
 * records as they come; logging stops when the test ends, passed or failed. For tests that check
 * what was logged.
 */
export async function withLogRecords(
  level: LogLevel,
  test: (records: readonly LogRecord[]) => Promise<void>,
): Promise<void> {
  const sink = memorySink();
  await setupLogging({ level, stream: new WritableStream(), extraSinks: [sink] });
  try {
    await test(sink.records);
  } finally {
    await stopLogging();
  }
}

/** A log record as plain data, so it can cross a thread boundary by `postMessage`. */
export interface ForwardedRecord {
  /** The logger's category. */
  readonly category: readonly string[];
  /** Its level. */
  readonly level: LogLevel;
  /** The message, template parts and values interleaved. */
  readonly message: readonly unknown[];
  /** The message template. */
  readonly rawMessage: string;
  /** When it was logged (ms since the epoch), on the thread that logged it. */
  readonly timestamp: number;
  /** Its properties. */
  readonly properties: Record<string, unknown>;
}

/** `record` as a {@link ForwardedRecord}: a value `postMessage` cannot copy becomes its text. */
export function forwardable(record: LogRecord): ForwardedRecord {
  const raw = record.rawMessage;
  return {
    category: [...record.category],
    level: record.level,
    message: record.message.map(cloneable),
    rawMessage: typeof raw === "string" ? raw : raw.join("{}"),
    timestamp: record.timestamp,
    properties: Object.fromEntries(
      Object.entries(record.properties).map(([name, value]) => [name, cloneable(value)]),
    ),
  };
}

function cloneable(value: unknown): unknown {
  try {
    structuredClone(value);
    return value;
  } catch {
    return String(value);
  }
}

/**
 * Configures LogTape in a Web Worker: every `evcharging.*` record at `level` or above is
 * handed to `post` as a {@link ForwardedRecord}, for the starting thread's
 * {@link emitForwarded}. Redaction happens there, in the sinks that write.
 */
export async function setupForwardedLogging(
  level: LogLevel,
  post: (record: ForwardedRecord) => void,
): Promise<void> {
  const forward: Sink = (record) => post(forwardable(record));
  await configure({
    reset: true,
    sinks: { forward },
    loggers: [
      { category: [ROOT_CATEGORY], lowestLevel: level, sinks: ["forward"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["forward"] },
    ],
  });
}

/** Writes a record forwarded from a worker through this thread's logging configuration. */
export function emitForwarded(record: ForwardedRecord): void {
  const { category, ...rest } = record;
  getLogger([...category]).emit(rest);
}

/**
 * The lowest level this thread writes for `evcharging.*` records (`fatal` when logging is not
 * configured): the level to give a worker's {@link setupForwardedLogging}, so it forwards only
 * what would be written.
 */
export function lowestEnabledLevel(): LogLevel {
  const root = getLogger([ROOT_CATEGORY]);
  return LOG_LEVELS.find((level) => root.isEnabledFor(level)) ?? "fatal";
}

/**
 * Text to log as a message as it is: LogTape reads `{name}` in a message as a placeholder, and
 * event texts may quote an error from elsewhere (a Registry detail) that contains braces.
 */
export function literal(text: string): string {
  return text.replaceAll("{", "{{").replaceAll("}", "}}");
}
