/**
 * Structured logging for every EVCharging process, built on LogTape.
 *
 * Library code only calls {@link getLogger}; a process's `main.ts` calls
 * {@link setupLogging} once. Records are JSON lines when the output is not a
 * terminal (for machines), coloured readable lines when it is (for people).
 * Every sink sits behind a redaction step, so a secret passed as a property
 * by mistake (credentials, tokens, keys) is replaced before it is written.
 *
 * @module
 */
import {
  configure,
  getAnsiColorFormatter,
  getStreamSink,
  jsonLinesFormatter,
  type LogLevel,
  type LogRecord,
  reset,
  type Sink,
  type TextFormatter,
} from "@logtape/logtape";
import { type FieldPatterns, redactByField } from "@logtape/redaction";

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
  /** Extra sinks (for example a terminal panel's message list), also redacted. */
  readonly extraSinks?: readonly Sink[];
}

/**
 * Picks the formatter for a format and terminal-ness: a pure choice, so it
 * is tested without any stream.
 */
export function chooseFormatter(format: LogFormat, isTerminal: boolean): TextFormatter {
  const pretty = format === "pretty" || (format === "auto" && isTerminal);
  return pretty
    ? getAnsiColorFormatter({ timestamp: "time", level: "FULL", category: "." })
    : jsonLinesFormatter;
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
  const formatter = chooseFormatter(options.format ?? "auto", isTerminal);
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

/** A sink that keeps records in memory, for tests that check what was logged. */
export function memorySink(): Sink & { records: LogRecord[] } {
  const records: LogRecord[] = [];
  const sink = (record: LogRecord) => {
    records.push(record);
  };
  return Object.assign(sink, { records });
}
