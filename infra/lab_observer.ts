/**
 * The lab's view of the network, fed by `infra/lab_probe.ts` running inside pc1: Central's CPs
 * (each state change with the moment it was first seen), every counted driver-topic message, and
 * `GET` calls to Central's REST API on demand.
 *
 * @module
 */
import { join } from "node:path";
import type { CpRow, SeenMessage } from "./lab_checks.ts";
import { ROOT } from "./lab_hosts.ts";

/** A CP as the observer keeps it. */
export interface ObservedCp extends CpRow {
  readonly kwh: number | null;
  readonly price_eur_kwh: number;
}

/** One state a CP was seen in, from when. */
export interface StateChange {
  readonly cpId: string;
  readonly state: string;
  readonly at: number;
}

/** How often waits look again. */
const WAIT_POLL_MS = 100;

/** Runs the probe in a namespace and keeps what it reports. */
export class Observer {
  /** Every counted driver-topic message, in the order read. */
  readonly messages: SeenMessage[] = [];
  /** Every CP state change seen, oldest first. */
  readonly changes: StateChange[] = [];
  /** Central's CPs at the last good reading. */
  cps = new Map<string, ObservedCp>();
  /** When Central last answered `GET /cps`. */
  lastAnswerAt = 0;
  /** Why the last reading failed, if it did. */
  lastError: string | undefined;
  /** Readings that showed a CP `SUPPLYING` with no driver on it. */
  supplyingWithoutDriver = 0;
  /** Whether the probe's Kafka consumer has joined. */
  ready = false;
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #replies = new Map<number, (reply: { status: number; body?: unknown; error?: string }) => void>();
  #nextId = 1;
  #done: Promise<void>;

  /** Starts the probe inside `ns` against Central at `centralUrl` and Kafka at `broker`. */
  constructor(ns: string, centralUrl: string, broker: string, caFile: string, logFile: string) {
    this.#child = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        ns,
        Deno.execPath(),
        "run",
        "--config",
        join(ROOT, "deno.json"),
        "--allow-net",
        "--allow-read",
        "--allow-env",
        join(ROOT, "infra/lab_probe.ts"),
        "--central",
        centralUrl,
        "--broker",
        broker,
        "--ca",
        caFile,
      ],
      cwd: ROOT,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#done = Promise.all([
      this.#read(),
      Deno.open(logFile, { create: true, append: true }).then(async (file) => {
        for await (const chunk of this.#child.stderr) file.writeSync(chunk);
        file.close();
      }),
    ]).then(() => {});
  }

  /** `GET path` on Central, from inside the probe's host. */
  async get<T>(path: string): Promise<{ status: number; body?: T; error?: string }> {
    const id = this.#nextId++;
    const { promise, resolve } = Promise.withResolvers<
      { status: number; body?: unknown; error?: string }
    >();
    this.#replies.set(id, resolve);
    await this.#writer.write(new TextEncoder().encode(`${JSON.stringify({ id, path })}\n`));
    return await promise as { status: number; body?: T; error?: string };
  }

  /** `GET path` on Central; throws unless it answers 200. */
  async getOk<T>(path: string): Promise<T> {
    const reply = await this.get<T>(path);
    if (reply.status !== 200) {
      throw new Error(`GET ${path}: ${reply.status} ${reply.error ?? JSON.stringify(reply.body)}`);
    }
    return reply.body as T;
  }

  /**
   * Waits until `probe` returns something other than `undefined` (checked every 100 ms); throws
   * after `timeoutMs`, naming `what`.
   */
  async waitFor<T>(
    what: string,
    probe: () => T | undefined | Promise<T | undefined>,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<T> {
    // The monotonic clock: the wall clock of a virtual machine may jump.
    const deadline = performance.now() + timeoutMs;
    while (true) {
      signal?.throwIfAborted();
      const value = await probe();
      if (value !== undefined) return value;
      if (performance.now() > deadline) {
        throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
      }
      await new Promise((r) => setTimeout(r, WAIT_POLL_MS));
    }
  }

  /** The first moment at or after `since` when `cpId` was seen in a state `match` accepts. */
  changedAt(cpId: string, since: number, match: (state: string) => boolean): number | undefined {
    return this.changes.find((c) => c.cpId === cpId && c.at >= since && match(c.state))?.at;
  }

  /** Stops the probe. */
  async stop(): Promise<void> {
    await this.#writer.close().catch(() => {});
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // Gone already.
    }
    await this.#child.status;
    await this.#done.catch(() => {});
  }

  async #read(): Promise<void> {
    let pending = "";
    for await (const chunk of this.#child.stdout.pipeThrough(new TextDecoderStream())) {
      const lines = (pending + chunk).split("\n");
      pending = lines.pop()!;
      for (const line of lines) {
        if (line.trim() !== "") this.#take(JSON.parse(line));
      }
    }
  }

  #take(line: Record<string, unknown>): void {
    const at = Number(line.at);
    switch (line.t) {
      case "ready":
        this.ready = true;
        break;
      case "msg":
        this.messages.push({ at, value: line.value as SeenMessage["value"] });
        break;
      case "reply":
        this.#replies.get(Number(line.id))?.(
          line as { status: number; body?: unknown; error?: string },
        );
        this.#replies.delete(Number(line.id));
        break;
      case "cps": {
        if (!Array.isArray(line.cps)) {
          this.lastError = String(line.error);
          break;
        }
        this.lastAnswerAt = at;
        this.lastError = undefined;
        const next = new Map<string, ObservedCp>();
        for (const cp of line.cps as ObservedCp[]) {
          next.set(cp.id, cp);
          if (this.cps.get(cp.id)?.state !== cp.state) {
            this.changes.push({ cpId: cp.id, state: cp.state, at });
          }
          if (cp.state === "SUPPLYING" && cp.driver_id === null) this.supplyingWithoutDriver++;
        }
        this.cps = next;
        break;
      }
    }
  }
}
