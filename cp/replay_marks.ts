/**
 * The engine's replay marks on disk, so a command captured off Kafka and produced again after an
 * engine restart is still refused: the highest `seq` taken per (cp, key version, channel), kept
 * in a small JSON file (0600, its folder 0700) replaced whole after each accepted command.
 *
 * @module
 */

import { type ReplayGuard, type ReplayMark } from "../shared/envelope.ts";
import { writePrivateFileAtomic } from "../shared/private_files.ts";

/** Marks of this many newest key versions are kept; older keys never come back to an engine. */
export const KEPT_KEY_VERSIONS = 8;

/** The marks file exists but cannot be read as one. */
export class ReplayMarksError extends Error {
  /** Always `"ReplayMarksError"`. */
  override name = "ReplayMarksError";
}

/** One CP's marks file. */
export class ReplayMarksFile {
  /** Where the marks are kept. */
  readonly path: string;
  readonly #cp: string;
  #writes: Promise<void> = Promise.resolve();

  /** The file at `path` for CP `cp`. */
  constructor(path: string, cp: string) {
    this.path = path;
    this.#cp = cp;
  }

  /**
   * Loads the file's marks into `guard` (the higher mark wins); a missing file loads none.
   * @returns how many marks were loaded.
   * @throws {ReplayMarksError} if the file is not a marks file.
   */
  async load(guard: ReplayGuard): Promise<number> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return 0;
      throw error;
    }
    let marks: ReplayMark[];
    try {
      const parsed = JSON.parse(text);
      if (parsed?.v !== 1 || !Array.isArray(parsed.marks)) throw new Error("not version 1");
      marks = (parsed.marks as ReplayMark[]).filter((m) => m?.cp === this.#cp);
      guard.restore(marks);
    } catch (error) {
      throw new ReplayMarksError(
        `${this.path} is not a replay marks file: ${(error as Error).message}`,
      );
    }
    return marks.length;
  }

  /**
   * Writes `guard`'s marks of this CP (its {@link KEPT_KEY_VERSIONS} newest key versions). Writes
   * go one after another, each with the marks as they are when it starts, so the one awaited
   * holds every mark accepted before the call.
   */
  save(guard: ReplayGuard): Promise<void> {
    const written = this.#writes.then(() => {
      const mine = guard.snapshot().filter((m) => m.cp === this.#cp);
      const versions = [...new Set(mine.map((m) => m.kv))].sort((a, b) => b - a);
      const kept = new Set(versions.slice(0, KEPT_KEY_VERSIONS));
      const marks = mine.filter((m) => kept.has(m.kv));
      return writePrivateFileAtomic(this.path, `${JSON.stringify({ v: 1, marks })}\n`);
    });
    this.#writes = written.catch(() => {});
    return written;
  }
}
