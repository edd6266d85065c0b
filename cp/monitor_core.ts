/**
 * The CP monitor's decisions as a pure core (docs/charging_loop.md §1–§2): how long to wait
 * before the next login, what an `AUTH_FAIL`, a `LOGOUT` or a Registry error means for the next
 * attempt, and how health checks of the engine add up to `OK`/`KO`. Every attempt authenticates
 * at the Registry for a fresh token bound to that attempt's ECDH key (Central lets a token log in
 * once), so no decision here is about keeping or renewing a token.
 *
 * The core has the project's one shape, `step(model, input, context) → {model, effects}`: the
 * model is the consecutive attempt count and the engine link as last seen; the inputs are how a
 * login attempt ended and what happened on the engine link; the context holds the monitor's
 * settings, the time `now` and a jitter draw. `cp/monitor.ts` owns the sockets, timers and the
 * Registry client and performs the effects in order (revoke the engine's key, log in again now
 * or after a wait, park at the menu, give up, report a health change), so every policy here is
 * tested without a socket or a clock.
 *
 * @module
 */

import type { CoreStep } from "../shared/core_step.ts";
import type { AuthFail, EngineHealth, Logout } from "../shared/messages.ts";
import { type CpWords, words } from "./words.ts";

// ---------------------------------------------------------------------------------------------
// Backoff

/** Capped exponential backoff: 0.5 s doubling, at most 10 s (docs/charging_loop.md §1.8). */
export interface BackoffPolicy {
  /** Delay ceiling of the first retry, ms. */
  readonly initialMs: number;
  /** Largest delay, ms. */
  readonly maxMs: number;
}

/** The policy of docs/charging_loop.md §1.8. */
export const BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 10_000 };

/**
 * How long to wait before retry number `attempt` (0 for the first retry). The ceiling doubles
 * from `initialMs` up to `maxMs`; the delay is drawn between half the ceiling and the ceiling
 * ("equal jitter"), so many CPs cut off by the same Central outage do not all return in the
 * same instant, yet none retries in a tight loop. `random` is in [0, 1) (`Math.random()`).
 */
export function backoffDelayMs(attempt: number, random: number, policy = BACKOFF): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + (ceiling / 2) * Math.min(Math.max(random, 0), 1));
}

/** A login that stayed up this long counts as stable: the backoff starts over after it. */
export const STABLE_CONNECTION_MS = 10_000;

// ---------------------------------------------------------------------------------------------
// What to do next

/**
 * What the monitor does after a login attempt or a connection ended. Its lines for the operator
 * are {@link CpWords}: the edge logs them in English and shows them in the operator's language.
 */
type NextStep =
  /** Try again after `delayMs`; `countdown`: show the wait second by second (a revoked key). */
  | {
    readonly kind: "retry";
    readonly delayMs: number;
    readonly reason: CpWords;
    readonly countdown?: boolean;
  }
  /** Stop for good: retrying cannot help. `message` tells the operator why and what to do. */
  | { readonly kind: "give_up"; readonly message: CpWords };

/**
 * How long the monitor waits after an admin revoked its key (`LOGOUT key_revoked`) before it
 * re-authenticates (`--revoked-wait`): long enough for an operator to see the CP logged out and
 * marked "key revoked" on the dashboard, where a rotation logs in again at once.
 */
export const REVOKED_WAIT_MS = 10_000;

/** Inputs every decision needs. */
export interface DecisionContext {
  /** The backoff attempt number (see {@link nextAttempt}). */
  readonly attempt: number;
  /** A number in [0, 1) for the jitter. */
  readonly random: number;
  /** The wait after a revoked key, ms (default {@link REVOKED_WAIT_MS}). */
  readonly revokedWaitMs?: number;
}

/** What the operator of a CP refused for good can do about it. */
const REINSTATE = words("reinstate");

/** An `AUTH_FAIL` or `LOGOUT` as a decision reads it: the frame without `v` and `type`. */
export type CentralAnswer<T extends AuthFail | Logout> = Omit<T, "v" | "type">;

/**
 * After `AUTH_FAIL`. `retryable: false` (revoked, deregistered, …) is final. Anything retryable
 * waits with backoff, a refused token too: it was just issued, so something else is wrong (e.g.
 * Central trusts another Registry or the clocks disagree) and a tight loop would not fix it.
 */
function afterAuthFail(fail: CentralAnswer<AuthFail>, ctx: DecisionContext): NextStep {
  const why: CpWords = { central: fail };
  if (fail.reason === "deregistered") return { kind: "give_up", message: deregisteredMessage(why) };
  if (!fail.retryable) {
    return { kind: "give_up", message: words("refusedForGood", { why, reinstate: REINSTATE }) };
  }
  return {
    kind: "retry",
    delayMs: backoffDelayMs(ctx.attempt, ctx.random),
    reason: words("loginRefused", { why }),
  };
}

/** {@link NextStep} after a `LOGOUT`, plus whether the engine must drop the current key. */
type LogoutStep = NextStep & {
  /** Send `KEY_REVOKED` for the current key version to the engine. */
  readonly revokeKey: boolean;
};

/**
 * After Central's `LOGOUT`. `retryable: false` is final and the key goes. A rotated key means
 * "log in again now"; a revoked one means "re-authenticate after `revokedWaitMs`", so the
 * revocation is seen (a revoked key refuses tokens from before it, and every attempt
 * authenticates for a new one). Either way Central rejects the old key from now on, so the engine
 * drops it (and ends a session it could no longer report). `shutdown` and `replaced` wait with
 * backoff.
 */
function afterLogout(logout: CentralAnswer<Logout>, ctx: DecisionContext): LogoutStep {
  const why: CpWords = { central: logout };
  const revokeKey = ["key_rotated", "key_revoked", "revoked", "deregistered"].includes(
    logout.reason,
  );
  if (logout.reason === "deregistered") {
    return { kind: "give_up", message: deregisteredMessage(why), revokeKey: true };
  }
  if (!logout.retryable) {
    return {
      kind: "give_up",
      message: words("loggedOutForGood", { why, reinstate: REINSTATE }),
      revokeKey: true,
    };
  }
  if (logout.reason === "key_revoked") {
    const waitMs = ctx.revokedWaitMs ?? REVOKED_WAIT_MS;
    return {
      kind: "retry",
      delayMs: waitMs,
      reason: words("keyRevokedWait", { why, seconds: Math.ceil(waitMs / 1000) }),
      revokeKey,
      countdown: true,
    };
  }
  // A rotated key: log in again at once (with the fresh token every attempt gets).
  return {
    kind: "retry",
    delayMs: logout.reason === "key_rotated" ? 0 : backoffDelayMs(ctx.attempt, ctx.random),
    reason: words("loggedOut", { why }),
    revokeKey,
  };
}

/**
 * What the operator reads when the CP was deregistered in the Registry: final, whatever the
 * frame said about retrying, since its credentials will never be accepted again.
 */
function deregisteredMessage(why: CpWords): CpWords {
  return words("deregisteredForGood", { why });
}

/** After Central could not be reached, or the connection to it broke. */
function afterConnectionLost(detail: CpWords, ctx: DecisionContext): NextStep {
  return {
    kind: "retry",
    delayMs: backoffDelayMs(ctx.attempt, ctx.random),
    reason: detail,
  };
}

/** The parts of a Registry failure a decision needs (`registry/client.ts` `RegistryError`). */
export interface RegistryFailure {
  /** HTTP status; 0 when the Registry could not be reached at all. */
  readonly status: number;
  /** The Registry's `error` code. */
  readonly code: string;
  /** The Registry's `detail`. */
  readonly detail: string;
  /** `Retry-After`, seconds (429, 503). */
  readonly retryAfterSeconds?: number;
}

/** The longest `Retry-After` honoured as asked; a longer one (or a hostile one) counts as this. */
export const MAX_RETRY_AFTER_MS = 300_000;

/**
 * The wait before asking again a Registry that answered `Retry-After: retryAfterSeconds` (429
 * rate limited, 503 hashing queue full): never sooner than it asked, and spread over up to as
 * long again by `random`, so the CPs it turned away in the same instant do not all come back in
 * the next one (a login storm); never shorter than the backoff of this attempt either.
 */
export function retryAfterDelayMs(retryAfterSeconds: number, ctx: DecisionContext): number {
  const askedMs = Math.min(MAX_RETRY_AFTER_MS, Math.max(0, retryAfterSeconds * 1000));
  const jittered = Math.round(askedMs * (1 + Math.min(Math.max(ctx.random, 0), 1)));
  return Math.max(jittered, backoffDelayMs(ctx.attempt, ctx.random));
}

/**
 * After the Registry refused or failed a call. Unreachable (status 0, 5xx) and rate limited
 * (429) wait and retry, honouring `Retry-After` with jitter (a full hashing queue answers 503
 * with it): "Registry dies → new logins fail with a clear reason" and running CPs keep trying.
 * A refusal (4xx) is final, with what to do about it.
 */
function afterRegistryError(
  failure: RegistryFailure,
  ctx: DecisionContext & {
    readonly call: "register" | "authenticate";
    readonly credentialsFile: string;
  },
): NextStep {
  // The Registry's own words: English, as it wrote them.
  const why = `${
    failure.status === 0 ? "" : `${failure.status} `
  }${failure.code}: ${failure.detail}`;
  if (failure.status === 0 || failure.status >= 500 || failure.status === 429) {
    return {
      kind: "retry",
      delayMs: failure.retryAfterSeconds === undefined
        ? backoffDelayMs(ctx.attempt, ctx.random)
        : retryAfterDelayMs(failure.retryAfterSeconds, ctx),
      reason: words(failure.status === 429 ? "registryLimit" : "registryDown", { why }),
    };
  }
  const file = ctx.credentialsFile;
  const advice = ctx.call === "register"
    ? failure.status === 409
      ? words("adviceTaken", { file })
      : failure.status === 401 || failure.status === 403
      ? words("adviceAdminKey")
      : words("adviceFields")
    : failure.status === 403
    ? words("adviceDeregistered")
    : failure.status === 401
    ? words("adviceCredentials", { file })
    : words("adviceRefused");
  const failed = ctx.call === "register" ? "registerFailed" : "authenticateFailed";
  return { kind: "give_up", message: words(failed, { why, advice }) };
}

/**
 * How one login attempt (and the connection it opened, if any) ended, as the edge saw it.
 * `connectedMs` is how long the CP was logged in, when it got that far.
 */
export type LoginEnding =
  /** The Registry refused or failed `register` or `authenticate`. */
  | {
    readonly kind: "registry_error";
    readonly call: "register" | "authenticate";
    readonly failure: RegistryFailure;
    readonly credentialsFile: string;
  }
  /** Something only an operator can fix (no admin key, unreadable credentials file). */
  | { readonly kind: "fatal"; readonly message: CpWords }
  /** Central could not be reached or the opening failed. */
  | { readonly kind: "unreachable"; readonly detail: CpWords }
  /** Central answered `AUTH_FAIL`. */
  | { readonly kind: "auth_fail"; readonly fail: CentralAnswer<AuthFail> }
  /** Central sent `LOGOUT` and closed. */
  | {
    readonly kind: "logout";
    readonly logout: CentralAnswer<Logout>;
    readonly connectedMs?: number;
  }
  /** The connection broke, ended, or Central did not answer in time. */
  | { readonly kind: "lost"; readonly detail: CpWords; readonly connectedMs?: number };

/** What {@link decide} returns. */
interface Decision {
  /** Retry (when, with a new token or not) or give up. */
  readonly step: NextStep;
  /** Tell the engine to forget the current key (`KEY_REVOKED`). */
  readonly revokeKey: boolean;
  /** The attempt number to pass to the next {@link decide}. */
  readonly attempt: number;
}

/**
 * The whole retry policy in one place: given how an attempt ended and the consecutive attempt
 * count, what to do next and the next count. A connection that stayed logged in for
 * {@link STABLE_CONNECTION_MS} starts the count over; anything shorter keeps it growing, so a
 * Central that accepts logins and drops them at once is not hammered every half second.
 * `revokedWaitMs` is the wait after a revoked key ({@link REVOKED_WAIT_MS}).
 */
function decide(
  ending: LoginEnding,
  attempt: number,
  random: number,
  revokedWaitMs = REVOKED_WAIT_MS,
): Decision {
  const connectedMs = "connectedMs" in ending ? ending.connectedMs : undefined;
  const stable = connectedMs !== undefined && connectedMs >= STABLE_CONNECTION_MS;
  const ctx = { attempt: stable ? 0 : attempt, random, revokedWaitMs };
  const next = (step: NextStep, revokeKey = false): Decision => ({
    step,
    revokeKey,
    attempt: ctx.attempt + 1,
  });
  switch (ending.kind) {
    case "registry_error":
      return next(afterRegistryError(ending.failure, { ...ctx, ...ending }));
    case "fatal":
      return next({ kind: "give_up", message: ending.message });
    case "unreachable":
    case "lost":
      return next(afterConnectionLost(ending.detail, ctx));
    case "auth_fail":
      return next(afterAuthFail(ending.fail, ctx));
    case "logout": {
      const { revokeKey, ...step } = afterLogout(ending.logout, ctx);
      return next(step, revokeKey);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Engine health

/** How long a `HEALTH_CHECK` may go unanswered before the engine counts as KO. */
export const HEALTH_TIMEOUT_MS = 1500;

/** What the monitor knows about its engine link. Never mutated. */
export interface EngineProbe {
  /** Whether the framed connection to the engine is open. */
  readonly connected: boolean;
  /** When the oldest unanswered `HEALTH_CHECK` was sent; absent when none is outstanding. */
  readonly pendingSince?: number;
  /** The engine's last answer. */
  readonly lastAnswer?: EngineHealth;
}

/** Not connected: the state at start and after a lost connection. */
const DISCONNECTED_PROBE: EngineProbe = { connected: false };

/** The link to the engine opened: no answer yet. */
function probeConnected(): EngineProbe {
  return { connected: true };
}

/** A `HEALTH_CHECK` went out at `now`; the oldest unanswered one is what times out. */
function probeSent(probe: EngineProbe, now: number): EngineProbe {
  return probe.pendingSince === undefined ? { ...probe, pendingSince: now } : probe;
}

/** The engine answered `HEALTH{engine}`. */
function probeAnswered(probe: EngineProbe, engine: EngineHealth): EngineProbe {
  return { connected: probe.connected, lastAnswer: engine };
}

/**
 * The engine's health at `now`: `KO` when not connected, when a check has gone unanswered for
 * longer than {@link HEALTH_TIMEOUT_MS} and the monitor's own lateness `lagMs`, before its first
 * answer, or when it answered `KO`.
 */
function engineHealth(probe: EngineProbe, now: number, lagMs: number): EngineHealth {
  if (!probe.connected) return "KO";
  const silentMs = probe.pendingSince === undefined ? 0 : now - probe.pendingSince;
  if (silentMs > HEALTH_TIMEOUT_MS + lagMs) return "KO";
  return probe.lastAnswer ?? "KO";
}

// ---------------------------------------------------------------------------------------------
// The step

/** What the monitor's core knows. Never mutated. */
export interface MonitorModel {
  /** Consecutive login attempts without a stable login: the backoff's exponent. */
  readonly attempt: number;
  /** The link to the engine as last seen. */
  readonly probe: EngineProbe;
  /** The engine's health as last judged (what Central is told). */
  readonly health: EngineHealth;
}

/** Before anything happened: no attempt yet, the engine not reached, so `KO`. */
export const INITIAL_MODEL: MonitorModel = { attempt: 0, probe: DISCONNECTED_PROBE, health: "KO" };

/** The monitor's settings the rules read; fixed for its life. */
export interface MonitorSettings {
  /** The wait after a revoked key, ms ({@link REVOKED_WAIT_MS} by default). */
  readonly revokedWaitMs: number;
  /**
   * An operator drives it (the monitor's menu): giving up parks it until they register or log in
   * again, instead of ending it.
   */
  readonly interactive: boolean;
}

/** What a step may read besides its model and input. */
export interface MonitorContext {
  /** The monitor's settings. */
  readonly settings: MonitorSettings;
  /** Now, ms since the epoch. */
  readonly now: number;
  /**
   * How late the monitor's own timers have run lately (ms): an engine's answer may have waited
   * that long unread, so its silence counts only beyond it.
   */
  readonly lagMs: number;
  /** A number in [0, 1) for the jitter of a wait this step may decide. */
  readonly random: number;
}

/** What happens to the monitor. */
export type MonitorInput =
  /**
   * A login attempt ended, and the connection it opened if any. `asked`: the operator ended it
   * (`login`: log in again at once; `deregistered`: they deregistered the CP), so it is no
   * failure.
   */
  | {
    readonly type: "login_ended";
    readonly ending: LoginEnding;
    readonly asked?: "login" | "deregistered";
  }
  /** The link to the engine opened (its opening proven): no answer yet. */
  | { readonly type: "engine_connected" }
  /** A `HEALTH_CHECK` went out to the engine. */
  | { readonly type: "health_check_sent" }
  /** The engine answered `HEALTH{engine}`. */
  | { readonly type: "engine_answered"; readonly engine: EngineHealth }
  /** The link to the engine closed. */
  | { readonly type: "engine_lost" }
  /** Time passed: judge the engine's health again. */
  | { readonly type: "tick" };

/** What the edge must do after a step, in order. */
export type MonitorEffect =
  /** Tell the engine to forget the current key (`KEY_REVOKED`), if the monitor holds one. */
  | { readonly type: "revoke_key" }
  /** Log in again now. */
  | { readonly type: "login" }
  /**
   * Log in again after `delayMs`; `reason` says why to the operator, `countdown` shows the wait
   * second by second (a revoked key).
   */
  | {
    readonly type: "wait";
    readonly delayMs: number;
    readonly reason: CpWords;
    readonly countdown?: boolean;
  }
  /** Gave up, at a menu: wait for the operator to register or log in again. */
  | { readonly type: "park"; readonly message: CpWords }
  /** Gave up for good: retrying cannot help; `message` tells the operator why and what to do. */
  | { readonly type: "give_up"; readonly message: CpWords }
  /** The engine's health changed: show it, and tell Central at once. */
  | { readonly type: "health_changed"; readonly health: EngineHealth };

/** What {@link step} returns. */
export type MonitorStep = CoreStep<MonitorModel, MonitorEffect>;

/** Applies one input. Pure: the same model, input and context always give the same step. */
export function step(
  model: MonitorModel,
  input: MonitorInput,
  context: MonitorContext,
): MonitorStep {
  switch (input.type) {
    case "login_ended":
      return afterLogin(model, input.ending, input.asked, context);
    case "engine_connected":
      return judgeHealth({ ...model, probe: probeConnected() }, context);
    case "health_check_sent":
      return judgeHealth({ ...model, probe: probeSent(model.probe, context.now) }, context);
    case "engine_answered":
      return judgeHealth({ ...model, probe: probeAnswered(model.probe, input.engine) }, context);
    case "engine_lost":
      return judgeHealth({ ...model, probe: DISCONNECTED_PROBE }, context);
    case "tick":
      return judgeHealth(model, context);
  }
}

/**
 * After a login attempt: again at once when the operator asked, parked when they deregistered the
 * CP, else what {@link decide} says. Giving up at a menu parks instead of ending; parking drops
 * the engine's key, since Central no longer takes it.
 */
function afterLogin(
  model: MonitorModel,
  ending: LoginEnding,
  asked: "login" | "deregistered" | undefined,
  { settings, random }: MonitorContext,
): MonitorStep {
  // The operator's move, not a failure: no backoff after it.
  if (asked === "login") return { model: { ...model, attempt: 0 }, effects: [{ type: "login" }] };
  if (asked === "deregistered") {
    return { model: { ...model, attempt: 0 }, effects: park(words("deregisteredHere")) };
  }
  const decision = decide(ending, model.attempt, random, settings.revokedWaitMs);
  const revoke: MonitorEffect[] = decision.revokeKey ? [{ type: "revoke_key" }] : [];
  const next = decision.step;
  if (next.kind === "retry") {
    const { kind: _kind, ...wait } = next;
    return {
      model: { ...model, attempt: decision.attempt },
      effects: [...revoke, { type: "wait", ...wait }],
    };
  }
  if (settings.interactive) {
    return { model: { ...model, attempt: 0 }, effects: park(next.message) };
  }
  return {
    model: { ...model, attempt: decision.attempt },
    effects: [...revoke, { type: "give_up", message: next.message }],
  };
}

/** The effects of parking at the menu: the engine drops its key, the monitor waits. */
function park(message: CpWords): MonitorEffect[] {
  return [{ type: "revoke_key" }, { type: "park", message }];
}

/** The engine's health judged now; a change is reported. */
function judgeHealth(model: MonitorModel, { now, lagMs }: MonitorContext): MonitorStep {
  const health = engineHealth(model.probe, now, lagMs);
  if (health === model.health) return { model, effects: [] };
  return { model: { ...model, health }, effects: [{ type: "health_changed", health }] };
}
