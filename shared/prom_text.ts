/**
 * A small, strict parser of the Prometheus text exposition format (version 0.0.4), so tests
 * (and the benchmark) read `GET /metrics` as a scraper would and refuse what a scraper would
 * refuse: bad names, bad label syntax or escapes, a sample before its family's `# TYPE`, a
 * family declared twice, the same series twice, histogram buckets that are not cumulative or
 * whose `+Inf` bucket is not the count.
 *
 * @module
 */

/** The metric types of the format. */
export type MetricType = "counter" | "gauge" | "histogram" | "summary" | "untyped";

/** One sample line. */
export interface PromSample {
  /** The sample's name (a histogram's `_bucket`, `_sum`, `_count` included). */
  readonly name: string;
  /** Its labels. */
  readonly labels: Readonly<Record<string, string>>;
  /** Its value (`+Inf`, `-Inf` and `NaN` included). */
  readonly value: number;
}

/** One metric family: its `# TYPE`, `# HELP` and samples. */
export interface PromFamily {
  /** The family name. */
  readonly name: string;
  /** Its type (`untyped` without a `# TYPE` line). */
  readonly type: MetricType;
  /** Its help text, or "". */
  readonly help: string;
  /** Its samples in the order given. */
  readonly samples: PromSample[];
}

/** A line the parser refuses, with its number (1-based). */
export class PromParseError extends Error {
  /** Always `"PromParseError"`. */
  override name = "PromParseError";
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<MetricType>(["counter", "gauge", "histogram", "summary", "untyped"]);
const SUFFIXES: Readonly<Record<MetricType, readonly string[]>> = {
  counter: [""],
  gauge: [""],
  untyped: [""],
  histogram: ["_bucket", "_sum", "_count"],
  summary: ["", "_sum", "_count"],
};

/** Parses a whole exposition; throws {@link PromParseError} naming the first bad line. */
export function parsePromText(text: string): Map<string, PromFamily> {
  const families = new Map<string, PromFamily & { help: string; type: MetricType }>();
  const seen = new Set<string>();
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    const fail = (why: string): never => {
      throw new PromParseError(`line ${i + 1}: ${why}: ${JSON.stringify(line.slice(0, 200))}`);
    };
    if (line.trim() === "") return;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (m === null) return; // a plain comment
      const [, kind, name, rest] = m;
      if (!METRIC_NAME.test(name)) fail("bad metric name");
      const family = families.get(name);
      if (kind === "TYPE") {
        if (!TYPES.has(rest as MetricType)) fail("unknown type");
        if (family !== undefined && (family.samples.length > 0 || family.type !== "untyped")) {
          fail("TYPE after the family's samples or twice");
        }
        families.set(name, {
          name,
          type: rest as MetricType,
          help: family?.help ?? "",
          samples: [],
        });
      } else {
        if (family?.help) fail("HELP twice");
        const help = rest.replace(/\\n/g, "\n").replace(/\\\\/g, "\\");
        if (family) family.help = help;
        else families.set(name, { name, type: "untyped", help, samples: [] });
      }
      return;
    }
    const sample = parseSample(line, fail);
    const family = familyOf(families, sample.name) ?? fail("sample of an undeclared family");
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (seen.has(key)) fail("the same series twice");
    seen.add(key);
    family.samples.push(sample);
  });
  for (const family of families.values()) {
    if (family.type === "histogram") checkHistogram(family);
  }
  return families;
}

function familyOf(families: Map<string, PromFamily>, sample: string): PromFamily | undefined {
  for (const [name, family] of families) {
    if (!sample.startsWith(name)) continue;
    if (SUFFIXES[family.type].includes(sample.slice(name.length))) return family;
  }
  return undefined;
}

function parseSample(line: string, fail: (why: string) => never): PromSample {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)(\s+-?\d+)?$/.exec(line);
  if (m === null) return fail("not a sample line");
  const [, name, labelText, valueText] = m;
  const labels: Record<string, string> = {};
  if (labelText !== undefined) {
    let rest = labelText.slice(1, -1);
    while (rest.length > 0) {
      const lm = /^([^=\s]+)="((?:[^"\\]|\\.)*)"(,|$)/.exec(rest);
      if (lm === null) fail("bad label");
      const [whole, labelName, raw] = lm!;
      if (!LABEL_NAME.test(labelName)) fail("bad label name");
      if (labelName in labels) fail("label twice");
      labels[labelName] = raw.replace(/\\(.)/g, (_, c) => {
        if (c === "n") return "\n";
        return c === '"' || c === "\\" ? c : fail("bad escape in a label value");
      });
      rest = rest.slice(whole.length);
    }
  }
  const value = parseValue(valueText) ?? fail("bad value");
  return { name, labels, value };
}

function parseValue(text: string): number | undefined {
  if (text === "+Inf" || text === "Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}

function checkHistogram(family: PromFamily): void {
  const groups = new Map<string, { le: number; value: number }[]>();
  const counts = new Map<string, number>();
  const keyOf = (labels: Readonly<Record<string, string>>) =>
    JSON.stringify(Object.entries(labels).filter(([k]) => k !== "le").sort());
  for (const s of family.samples) {
    if (s.name.endsWith("_count")) counts.set(keyOf(s.labels), s.value);
    if (!s.name.endsWith("_bucket")) continue;
    const le = s.labels.le === undefined ? undefined : parseValue(s.labels.le);
    if (le === undefined) throw new PromParseError(`${family.name}: a bucket without a valid le`);
    const key = keyOf(s.labels);
    groups.set(key, [...groups.get(key) ?? [], { le, value: s.value }]);
  }
  for (const [key, buckets] of groups) {
    buckets.sort((a, b) => a.le - b.le);
    buckets.forEach((b, i) => {
      if (i > 0 && b.value < buckets[i - 1].value) {
        throw new PromParseError(`${family.name}${key}: buckets not cumulative`);
      }
    });
    const last = buckets.at(-1)!;
    if (last.le !== Infinity || last.value !== counts.get(key)) {
      throw new PromParseError(`${family.name}${key}: the +Inf bucket is not the count`);
    }
  }
}

/**
 * The value of the sample `name` whose labels include `labels`, or undefined. Throws if
 * several samples match (the caller's labels are not specific enough).
 */
export function sampleValue(
  families: Map<string, PromFamily>,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  const matches = [...families.values()].flatMap((f) => f.samples).filter((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );
  if (matches.length > 1) {
    throw new Error(`${matches.length} samples of ${name} match ${JSON.stringify(labels)}`);
  }
  return matches[0]?.value;
}
