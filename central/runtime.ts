/**
 * The one place where Central's model changes: {@link CentralRuntime.dispatch} runs a core step
 * (central/core.ts) at the time the edge read from its clock, stores its effects in one SQLite transaction, and only then adopts the new
 * model, logs its notes and tells the listeners (outbox publisher, TCP server, panel). It is synchronous
 * from step to commit, so inputs arriving from TCP, Kafka, HTTP and the clock never interleave.
 *
 * @module
 */
import type { ReplayMark } from "../shared/envelope.ts";
import { getLogger } from "../shared/log.ts";
import type { AuditPage, AuditQuery } from "./audit.ts";
import type { AuditEntry } from "./audit_chain.ts";
import type { AuditOccurrence } from "./audit_flood.ts";
import { type CoreConfig, type Effect, type Input, type Model, stepAll } from "./core.ts";
import type { CentralStore } from "./store.ts";

const log = getLogger(["evcharging", "central"]);

/** What a listener hears after each committed step. */
export interface Committed {
  /** The input that was applied. */
  readonly input: Input;
  /** The time it was applied at (the step's `now`), ms since the epoch. */
  readonly now: number;
  /** Its effects, in order (already stored). */
  readonly effects: readonly Effect[];
  /** The model after the step. */
  readonly model: Model;
}

/** Called after each committed step; must not throw (errors are logged and ignored). */
export type Listener = (committed: Committed) => void;

/**
 * Where audit records go: central.ts passes the `AuditLog` (append) and its `AuditAggregator`
 * (offer); tests may pass an array-backed double.
 */
export interface AuditSink {
  /** Appends one record (after the step's transaction: never inside one). */
  append(entry: AuditEntry): unknown;
  /** Takes one occurrence of something an attacker can repeat; aggregated per interval. */
  offer(occurrence: AuditOccurrence): void;
  /** A page of records, newest first. */
  list(query: AuditQuery): AuditPage;
}

/** Counts of inputs that were dropped on purpose, for the panel, the API and tests. */
export interface DropCounters {
  /** Driver requests whose id was answered before. */
  duplicateRequests: number;
  /** Telemetry envelopes at or below the replay mark (a replay after a restart). */
  duplicateTelemetry: number;
  /** Telemetry that did not authenticate or was not a valid payload. */
  rejectedTelemetry: number;
  /** {@link DropCounters.rejectedTelemetry} by reason (`malformed`, an envelope's, …). */
  readonly rejectedTelemetryByReason: Record<string, number>;
}

const STORED = new Set<Effect["type"]>([
  "save_cp",
  "save_session",
  "save_driver",
  "save_request",
  "save_key",
  "save_weather",
  "revoke_keys",
  "save_registry_seq",
  "publish",
  "command",
]);

/** Central's model, its store, and the listeners that act on committed effects. */
export class CentralRuntime {
  readonly #store: CentralStore;
  readonly #config: CoreConfig;
  readonly #listeners = new Set<Listener>();
  readonly #audit: AuditSink | undefined;
  #model: Model;
  #closed = false;
  #storeFailure: { readonly at: number; readonly message: string } | null = null;
  /** Inputs dropped on purpose; the edges increment them. */
  readonly drops: DropCounters = {
    duplicateRequests: 0,
    duplicateTelemetry: 0,
    rejectedTelemetry: 0,
    rejectedTelemetryByReason: {},
  };

  /**
   * Starts from a recovered model (see `CentralStore.recover`). Without `audit`, audit records
   * are not kept (unit tests of other parts).
   */
  constructor(store: CentralStore, model: Model, config: CoreConfig, audit?: AuditSink) {
    this.#store = store;
    this.#model = model;
    this.#config = config;
    this.#audit = audit;
  }

  /** The current model (immutable: a later step makes a new one). */
  get model(): Model {
    return this.#model;
  }

  /** The store, for queries (sessions, drivers, requests) and the outbox publisher. */
  get store(): CentralStore {
    return this.#store;
  }

  /** The last failed commit, while no commit has gone through since (readiness). */
  get storeFailure(): { readonly at: number; readonly message: string } | null {
    return this.#storeFailure;
  }

  /** The timings the core applies. */
  get config(): CoreConfig {
    return this.#config;
  }

  /**
   * Applies one input at `now` (the dispatching edge's clock, ms since the epoch): core step,
   * one transaction for its effects (and `mark`, the replay mark of the telemetry envelope that
   * carried it), then the new model, then the listeners. Returns the effects. If storing fails, nothing changes and the error is thrown, so a Kafka
   * input is delivered again.
   * @throws {Error} after {@link close}.
   */
  dispatch(input: Input, now: number, mark?: ReplayMark): readonly Effect[] {
    return this.dispatchAll([{ input, mark }], now)[0];
  }

  /**
   * {@link dispatch} for several inputs in order (a Kafka batch), all at `now`: the core
   * applies them one after the other on one draft (`stepAll`), all their effects and marks are
   * stored in ONE transaction, then the new model is adopted and each input announced in turn,
   * with its own effects (listeners see the batch's final model). If storing fails, nothing changes and the
   * error is thrown.
   * @throws {Error} after {@link close}.
   */
  dispatchAll(
    items: readonly { readonly input: Input; readonly mark?: ReplayMark }[],
    now: number,
  ): readonly (readonly Effect[])[] {
    if (this.#closed) throw new Error("Central is stopping: input refused");
    const inputs = items.map((item) => item.input);
    const next = stepAll(this.#model, inputs, { config: this.#config, now });
    const stored = items.flatMap(({ mark }, i) =>
      mark !== undefined || next.effects[i].some((e) => STORED.has(e.type))
        ? [{ effects: next.effects[i], mark }]
        : []
    );
    if (stored.length > 0) {
      try {
        this.#store.commitAll(stored);
      } catch (error) {
        this.#storeFailure = {
          at: Date.now(),
          message: String((error as Error)?.message ?? error),
        };
        throw error;
      }
      this.#storeFailure = null;
    }
    this.#model = next.model;
    items.forEach(({ input }, i) => this.#announce(input, now, next.effects[i]));
    return next.effects;
  }

  /** Logs a stored step's notes, appends its audits and tells the listeners. */
  #announce(input: Input, now: number, effects: readonly Effect[]): void {
    for (const effect of effects) {
      if (effect.type === "note") log[effect.level](effect.message, effect.props);
      if (effect.type === "audit") this.audit(effect.entry, effect.flood);
    }
    const committed = { input, now, effects, model: this.#model };
    for (const listener of this.#listeners) {
      try {
        listener(committed);
      } catch (error) {
        log.error("A listener failed on {input}: {error}", { input: input.type, error });
      }
    }
  }

  /**
   * Appends an audit record (ARCHITECTURE §Audit) for an action an edge saw: admin calls, weather
   * alerts, rejected messages. `flood`: something an attacker can repeat at will, aggregated per
   * (actor, action, `params.reason`) so a flood cannot fill the disk. Call it outside any store
   * transaction. Never throws: the action it records has happened, so a failure is logged.
   */
  audit(entry: AuditEntry, flood = false): void {
    if (this.#audit === undefined) return;
    try {
      if (flood) {
        this.#audit.offer({ ...entry, reason: String(entry.params.reason ?? "unspecified") });
      } else {
        this.#audit.append(entry);
      }
    } catch (error) {
      log.error("Audit record {action} of {actor} not written: {error}", {
        action: entry.action,
        actor: entry.actor,
        error,
      });
    }
  }

  /** A page of the audit log, newest first (`GET /audit`); empty when no log is kept. */
  auditPage(query: AuditQuery): AuditPage {
    return this.#audit?.list(query) ?? { items: [], total: 0 };
  }

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Refuses further inputs (the store is about to close). */
  close(): void {
    this.#closed = true;
    this.#listeners.clear();
  }
}
