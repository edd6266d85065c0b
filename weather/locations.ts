/**
 * The locations file: which city each CP is in, as `{ "CP-001": "Madrid", … }`.
 *
 * The file is the single source of truth, editable three ways while the office runs: from the
 * terminal menu, from the REST API, and with any editor; the office also adds the CPs Central
 * knows that it lacks (`office.ts`). The store watches the file's folder (an editor's or our own
 * atomic rename replaces the file, which a watch on the file itself would lose), waits for edits
 * to settle, and reloads. A malformed edit is reported and the last
 * good set stays in force; the office's own writes are recognised by their content and ignored.
 *
 * Writes are atomic (a temporary file, synced, then renamed over the file) and serialised, and
 * each one first re-reads the file, so an operator's edit that the watch has not reloaded yet is
 * never overwritten. While the file is malformed or missing, the menu and the API refuse to
 * write: the operator's file is never replaced behind their back.
 *
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import { z } from "zod";
import { getLogger } from "../shared/log.ts";
import { makePrivateDir } from "../shared/private_files.ts";
import { cpIdSchema, decodeJson, parseMessage, textSchema } from "../shared/messages.ts";

/** Longest city name, in characters (OpenWeather's `q` is a name, maybe `,country`). */
export const MAX_CITY_CHARS = 100;
/** Most CPs the file may hold. */
export const MAX_LOCATIONS = 10_000;
/** Largest locations file read, in bytes. */
export const MAX_LOCATIONS_FILE_BYTES = 1024 * 1024;
/** How long the file must be quiet after a change before it is reloaded. */
export const DEFAULT_DEBOUNCE_MS = 150;

/** A city: 1–{@link MAX_CITY_CHARS} characters of text, spaces around it trimmed. */
export const citySchema = z.string().trim().pipe(textSchema(MAX_CITY_CHARS));

/** The whole file: a JSON object from CP id to city. */
export const locationsFileSchema = z.record(cpIdSchema, citySchema).refine(
  (entries) => Object.keys(entries).length <= MAX_LOCATIONS,
  `must hold at most ${MAX_LOCATIONS} CPs`,
);

/** CP id → city. */
export type Locations = ReadonlyMap<string, string>;

/** The file cannot be written now: it is malformed or missing. The message says what to do. */
export class LocationsFileError extends Error {
  /** Always `"LocationsFileError"`. */
  override name = "LocationsFileError";
}

/** Settings of {@link LocationStore.open}. */
export interface LocationStoreOptions {
  /** Quiet time before a change on disk is reloaded. Default {@link DEFAULT_DEBOUNCE_MS}. */
  readonly debounceMs?: number;
  /** Called after every change of the set in force, from the file or from a write. */
  readonly onChange?: (locations: Locations) => void;
}

const log = getLogger(["evcharging", "weather", "locations"]);

/**
 * Parses the text of a locations file. Never throws: the reason names the failing entry, e.g.
 * `["CP 1"]: field name must be 3–64 characters of …`.
 */
export function parseLocations(
  text: string,
): { ok: true; locations: Locations } | { ok: false; reason: string } {
  const json = decodeJson(text, MAX_LOCATIONS_FILE_BYTES);
  if (!json.ok) return { ok: false, reason: json.reason };
  if (typeof json.value !== "object" || json.value === null || Array.isArray(json.value)) {
    return { ok: false, reason: 'must be a JSON object like {"CP-001": "Madrid"}' };
  }
  const parsed = parseMessage(locationsFileSchema, json.value);
  if (!parsed.ok) return parsed;
  return { ok: true, locations: new Map(Object.entries(parsed.value)) };
}

/** The text the office writes: entries by CP id, two-space indented, ending in a newline. */
export function formatLocations(locations: Locations): string {
  const sorted = [...locations].sort(([a], [b]) => a.localeCompare(b));
  return `${JSON.stringify(Object.fromEntries(sorted), null, 2)}\n`;
}

/** The locations file, loaded, watched and written. */
export class LocationStore {
  readonly #path: string;
  readonly #debounceMs: number;
  readonly #onChange: (locations: Locations) => void;
  #locations: Locations;
  /** The file's text as last read or written: a reload that finds the same text does nothing. */
  #lastText: string | undefined;
  #problem: string | undefined;
  /** Every reload and write runs after the previous one, so none interleave. */
  #queue: Promise<unknown> = Promise.resolve();
  #watcher: Deno.FsWatcher | undefined;
  #watching: Promise<void> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #rereads = 0;

  private constructor(
    path: string,
    text: string,
    locations: Locations,
    options: LocationStoreOptions,
  ) {
    this.#path = path;
    this.#lastText = text;
    this.#locations = locations;
    this.#debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
    this.#onChange = options.onChange ?? (() => {});
  }

  /**
   * Loads `path`, creating it (and its folder) with `{}` if missing.
   * @throws {LocationsFileError} if the file is malformed: there is no previous set to keep.
   */
  static async open(path: string, options: LocationStoreOptions = {}): Promise<LocationStore> {
    const absolute = resolve(path);
    await makePrivateDir(dirname(absolute));
    try {
      await Deno.writeTextFile(absolute, "{}\n", { createNew: true });
      log.info("created an empty locations file {path}", { path: absolute });
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    const text = await Deno.readTextFile(absolute);
    const parsed = parseLocations(text);
    if (!parsed.ok) {
      throw new LocationsFileError(`locations file ${absolute} is invalid: ${parsed.reason}`);
    }
    return new LocationStore(absolute, text, parsed.locations, options);
  }

  /** The file's absolute path. */
  get path(): string {
    return this.#path;
  }

  /** The set in force: the last good content of the file. */
  get locations(): Locations {
    return this.#locations;
  }

  /** What is wrong with the file on disk while the previous set is kept; `undefined` if nothing. */
  get problem(): string | undefined {
    return this.#problem;
  }

  /**
   * Puts `cpId` in `city` (the city is trimmed): `added`, `changed` or `unchanged`.
   * @throws {LocationsFileError} while the file is malformed or missing.
   * @throws {RangeError} if the id or the city is invalid (the message says which rule).
   */
  set(cpId: string, city: string): Promise<"added" | "changed" | "unchanged"> {
    const id = parseMessage(cpIdSchema, cpId);
    if (!id.ok) return Promise.reject(new RangeError(`CP id ${id.reason}`));
    const name = parseMessage(citySchema, city);
    if (!name.ok) return Promise.reject(new RangeError(`city ${name.reason}`));
    return this.#serialised(async () => {
      await this.#syncForWrite();
      const before = this.#locations.get(cpId);
      if (before === name.value) return "unchanged";
      if (before === undefined && this.#locations.size >= MAX_LOCATIONS) {
        throw new RangeError(`the office watches at most ${MAX_LOCATIONS} CPs`);
      }
      await this.#write(new Map(this.#locations).set(cpId, name.value));
      return before === undefined ? "added" : "changed";
    });
  }

  /**
   * Adds each of `entries` (CP id → city) whose CP is not in the file yet, in one write, as far
   * as {@link MAX_LOCATIONS} allows (by id); returns the ids added. A CP the file has keeps its
   * city, including one an operator's edit put there that the watch has not reloaded yet.
   * @throws {LocationsFileError} while the file is malformed or missing.
   * @throws {RangeError} if an id or a city is invalid (the message names the entry).
   */
  addMissing(entries: Locations): Promise<string[]> {
    const parsed = parseMessage(z.record(cpIdSchema, citySchema), Object.fromEntries(entries));
    if (!parsed.ok) return Promise.reject(new RangeError(parsed.reason));
    return this.#serialised(async () => {
      await this.#syncForWrite();
      const room = MAX_LOCATIONS - this.#locations.size;
      const added = Object.entries(parsed.value).filter(([cpId]) => !this.#locations.has(cpId))
        .sort(([a], [b]) => a.localeCompare(b)).slice(0, Math.max(0, room));
      if (added.length > 0) await this.#write(new Map([...this.#locations, ...added]));
      return added.map(([cpId]) => cpId);
    });
  }

  /**
   * Stops watching `cpId`; returns the city it was in, or `undefined` if it was not watched.
   * @throws {LocationsFileError} while the file is malformed or missing.
   */
  remove(cpId: string): Promise<string | undefined> {
    return this.#serialised(async () => {
      await this.#syncForWrite();
      const before = this.#locations.get(cpId);
      if (before === undefined) return undefined;
      const next = new Map(this.#locations);
      next.delete(cpId);
      await this.#write(next);
      return before;
    });
  }

  /**
   * How many times the watch has re-read the file after a change on disk (whether or not the
   * content changed): a test's sign that the watch has caught up.
   */
  get rereads(): number {
    return this.#rereads;
  }

  /** Starts reloading the file when it changes on disk. */
  watch(): void {
    if (this.#watcher !== undefined) return;
    const watcher = Deno.watchFs(dirname(this.#path), { recursive: false });
    this.#watcher = watcher;
    const name = basename(this.#path);
    this.#watching = (async () => {
      for await (const event of watcher) {
        if (event.kind === "access") continue;
        if (!event.paths.some((p) => basename(p) === name)) continue;
        clearTimeout(this.#timer);
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.#serialised(() => this.#syncFromDisk()).catch((error) =>
            log.error("reloading {path} failed: {message}", {
              path: this.#path,
              message: error instanceof Error ? error.message : String(error),
            })
          ).finally(() => this.#rereads++);
        }, this.#debounceMs);
      }
    })();
  }

  /** Stops watching and waits for a reload or write in progress. */
  async close(): Promise<void> {
    clearTimeout(this.#timer);
    this.#watcher?.close();
    await this.#watching;
    await this.#queue.catch(() => {});
  }

  #serialised<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task);
    this.#queue = run.catch(() => {});
    return run;
  }

  /**
   * Brings the set in force up to date with the file: adopts a good new content, and reports a
   * malformed or missing file (keeping the set in force).
   */
  async #syncFromDisk(): Promise<void> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.#path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      this.#lastText = undefined; // whatever comes back is read afresh
      this.#report(`${this.#path} is missing`, "restore it, or create it with {}");
      return;
    }
    if (text === this.#lastText) return;
    this.#lastText = text;
    const parsed = parseLocations(text);
    if (!parsed.ok) {
      this.#report(`${this.#path} is invalid: ${parsed.reason}`, "fix the file");
      return;
    }
    if (this.#problem !== undefined) log.info("{path} is valid again", { path: this.#path });
    this.#problem = undefined;
    this.#adopt(parsed.locations, "reloaded {path}: {count} CPs");
  }

  /** For a writer: the file as it is on disk now, which must be good. */
  async #syncForWrite(): Promise<void> {
    await this.#syncFromDisk();
    if (this.#problem !== undefined) throw new LocationsFileError(this.#problem);
  }

  /** Records a file problem, logging it once per distinct problem. */
  #report(what: string, fix: string): void {
    const problem =
      `${what}; keeping the previous ${this.#locations.size} locations until you ${fix}`;
    if (problem !== this.#problem) log.error("{problem}", { problem });
    this.#problem = problem;
  }

  async #write(locations: Locations): Promise<void> {
    const text = formatLocations(locations);
    await writeFileAtomic(this.#path, text);
    this.#lastText = text; // the watch will see this write: same text, so it is ignored
    this.#adopt(locations, "wrote {path}: {count} CPs");
  }

  #adopt(locations: Locations, message: string): void {
    this.#locations = locations;
    log.info(message, { path: this.#path, count: locations.size });
    this.#onChange(locations);
  }
}

/** Writes `text` to a temporary file beside `path`, syncs it, then renames it over `path`. */
async function writeFileAtomic(path: string, text: string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${crypto.randomUUID()}.tmp`);
  try {
    const file = await Deno.open(temporary, { write: true, createNew: true, mode: 0o644 });
    try {
      await file.write(new TextEncoder().encode(text));
      await file.syncData();
    } finally {
      file.close();
    }
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
}
