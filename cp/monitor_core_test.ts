import assert from "node:assert/strict";
import {
  BACKOFF,
  backoffDelayMs,
  type CentralAnswer,
  HEALTH_TIMEOUT_MS,
  INITIAL_MODEL,
  type LoginEnding,
  MAX_RETRY_AFTER_MS,
  type MonitorEffect,
  type MonitorInput,
  type MonitorModel,
  type MonitorSettings,
  type MonitorStep,
  retryAfterDelayMs,
  REVOKED_WAIT_MS,
  STABLE_CONNECTION_MS,
  step,
} from "./monitor_core.ts";
import type { AuthFail, Logout } from "../shared/messages.ts";
import { notice } from "../shared/notices.ts";
import { type CpWords, sayWords } from "./words.ts";

/** What the log says (in English). */
const en = (said: CpWords) => sayWords("en", said);

const SETTINGS: MonitorSettings = { revokedWaitMs: REVOKED_WAIT_MS, interactive: false };
const FILE = "data/cp/CP1.credentials";

/** Steps the core with `input` at `now`, with the jitter `random` and the monitor's `lagMs`. */
function at(
  model: MonitorModel,
  input: MonitorInput,
  now = 0,
  random = 0.5,
  settings: Partial<MonitorSettings> = {},
  lagMs = 0,
): MonitorStep {
  return step(model, input, { settings: { ...SETTINGS, ...settings }, now, lagMs, random });
}

/** Steps the core with how a login attempt ended, after `attempt` attempts. */
function ended(
  ending: LoginEnding,
  options: { attempt?: number; random?: number; settings?: Partial<MonitorSettings> } = {},
): MonitorStep {
  const model = { ...INITIAL_MODEL, attempt: options.attempt ?? 0 };
  return at(model, { type: "login_ended", ending }, 0, options.random ?? 0.5, options.settings);
}

type Wait = Extract<MonitorEffect, { type: "wait" }>;

/** The wait a step ends with (it must end with one), its reason in English. */
function waits(s: MonitorStep): Omit<Wait, "reason"> & { reason: string } {
  const last = s.effects.at(-1);
  assert.equal(last?.type, "wait", JSON.stringify(s.effects));
  const wait = last as Wait;
  return { ...wait, reason: en(wait.reason) };
}

/** The message of the give-up a step ends with (it must end with one). */
function givesUp(s: MonitorStep): string {
  const last = s.effects.at(-1);
  assert.equal(last?.type, "give_up", JSON.stringify(s.effects));
  return en((last as Extract<MonitorEffect, { type: "give_up" }>).message);
}

/** Whether the step tells the engine to drop its key. */
function revokes(s: MonitorStep): boolean {
  return s.effects.some((e) => e.type === "revoke_key");
}

const authFail = (fail: CentralAnswer<AuthFail>): LoginEnding => ({
  kind: "auth_fail",
  fail,
});
const logout = (
  out: CentralAnswer<Logout>,
  connectedMs?: number,
): LoginEnding => ({ kind: "logout", logout: out, connectedMs });
const registryError = (
  call: "register" | "authenticate",
  failure: { status: number; code: string; detail: string; retryAfterSeconds?: number },
): LoginEnding => ({ kind: "registry_error", call, failure, credentialsFile: FILE });

Deno.test("backoff doubles from 0.5 s and is capped at 10 s, with jitter in the upper half", () => {
  const ceilings = [500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000];
  ceilings.forEach((ceiling, attempt) => {
    assert.equal(backoffDelayMs(attempt, 0), ceiling / 2, `attempt ${attempt} lowest`);
    assert.equal(backoffDelayMs(attempt, 0.999999), ceiling, `attempt ${attempt} highest`);
  });
  for (const attempt of [20, 1000, Number.MAX_SAFE_INTEGER]) {
    const d = backoffDelayMs(attempt, Math.random());
    assert.ok(d >= BACKOFF.maxMs / 2 && d <= BACKOFF.maxMs, `attempt ${attempt}: ${d}`);
  }
  assert.equal(backoffDelayMs(-3, 0), 250, "a negative attempt counts as the first");
  assert.equal(backoffDelayMs(0, 7), 500, "random is clamped to [0, 1]");
});

Deno.test("the attempt count grows per failure and starts over after a stable login", () => {
  let model = INITIAL_MODEL;
  const delays: number[] = [];
  for (let i = 0; i < 7; i++) {
    const s = at(
      model,
      {
        type: "login_ended",
        ending: { kind: "unreachable", detail: "refused" },
      },
      0,
      0.999999,
    );
    delays.push(waits(s).delayMs);
    model = s.model;
  }
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 10_000, 10_000]);

  const lost = (connectedMs: number): LoginEnding => ({ kind: "lost", detail: "x", connectedMs });
  const short = ended(lost(STABLE_CONNECTION_MS - 1), { attempt: 5, random: 0 });
  assert.deepEqual([waits(short).delayMs, short.model.attempt], [5000, 6]);
  const stable = ended(lost(STABLE_CONNECTION_MS), { attempt: 5, random: 0 });
  assert.deepEqual([waits(stable).delayMs, stable.model.attempt], [250, 1]);
});

Deno.test("each ending goes to its rule", () => {
  const fatal = ended({ kind: "fatal", message: "no admin key" }, { random: 0 });
  assert.equal(givesUp(fatal), "no admin key");
  const registry = ended(
    registryError("authenticate", { status: 401, code: "invalid_credentials", detail: "" }),
    { random: 0 },
  );
  assert.match(givesUp(registry), /CP1\.credentials/);
  const auth = ended(authFail({ reason: "expired_token", retryable: true }), {
    attempt: 3,
    random: 0,
  });
  assert.deepEqual([waits(auth).delayMs, auth.model.attempt], [2000, 4]);
  const revoked = ended(logout({ reason: "key_revoked", retryable: true }, 60_000), {
    attempt: 3,
    random: 0,
  });
  assert.deepEqual([revokes(revoked), revoked.model.attempt], [true, 1]);
  assert.equal(waits(revoked).delayMs, REVOKED_WAIT_MS, "the default wait");
  const passed = ended(logout({ reason: "key_revoked", retryable: true }), {
    random: 0,
    settings: { revokedWaitMs: 1234 },
  });
  assert.equal(waits(passed).delayMs, 1234, "the wait of the settings");
  assert.equal(revokes(ended({ kind: "unreachable", detail: "x" }, { random: 0 })), false);
});

Deno.test("AUTH_FAIL retryable:false gives up with a clear message", () => {
  for (const reason of ["revoked", "deregistered", "unknown_cp", "cp_mismatch"] as const) {
    const message = givesUp(ended(authFail({ reason, retryable: false })));
    assert.match(message, new RegExp(reason));
    assert.match(message, /not retrying/);
  }
});

Deno.test("AUTH_FAIL retryable, a just-issued token refused too, waits with backoff", () => {
  const reasons: AuthFail["reason"][] = [
    "bad_token",
    "expired_token",
    "registry_unavailable",
    "internal_error",
    "bad_request",
  ];
  for (const reason of reasons) {
    const s = waits(
      ended(authFail({ reason, retryable: true, detail: "later" }), { attempt: 2, random: 0 }),
    );
    assert.equal(s.delayMs, 1000);
    assert.match(s.reason, new RegExp(`${reason}: later`));
  }
});

Deno.test("LOGOUT: final when not retryable; a rotation logs in again at once, a revocation after the wait", () => {
  const final = ended(logout({ reason: "revoked", retryable: false }));
  givesUp(final);
  assert.equal(revokes(final), true);

  const rotated = ended(logout({ reason: "key_rotated", retryable: true }));
  assert.deepEqual([waits(rotated).delayMs, revokes(rotated)], [0, true]);
  const revoked = ended(logout({ reason: "key_revoked", retryable: true }));
  const wait = waits(revoked);
  assert.deepEqual([wait.delayMs, revokes(revoked), wait.countdown], [REVOKED_WAIT_MS, true, true]);
  assert.match(wait.reason, /key revoked .*re-authenticating in 10 s/);
  const shortened = waits(
    ended(logout({ reason: "key_revoked", retryable: true }), {
      settings: { revokedWaitMs: 2500 },
    }),
  );
  assert.equal(shortened.delayMs, 2500);
  assert.match(shortened.reason, /re-authenticating in 3 s/);

  const reasons: Logout["reason"][] = ["shutdown", "replaced"];
  for (const reason of reasons) {
    const s = ended(logout({ reason, retryable: true }), { attempt: 1, random: 0 });
    assert.deepEqual([waits(s).delayMs, revokes(s)], [500, false]);
  }
});

Deno.test("deregistered: the monitor stops for good, says so and what to do, even if told to retry", () => {
  for (const retryable of [false, true]) {
    const out = ended(logout({ reason: "deregistered", retryable }));
    assert.equal(revokes(out), true, "the engine drops the key");
    const fail = ended(authFail({ reason: "deregistered", retryable }));
    for (const message of [givesUp(fail), givesUp(out)]) {
      assert.match(message, /deregistered in the Registry/);
      assert.match(message, /not retrying/);
      assert.match(message, /register it again/);
    }
  }
});

Deno.test("Central's refusals and logouts: the core's lines carry its code, for a Spanish screen", () => {
  const es = (s: MonitorStep) => sayWords("es", (s.effects.at(-1) as { message: CpWords }).message);
  const refused = ended(
    authFail({ reason: "revoked", retryable: false, ...notice("login_revoked", { id: "CP1" }) }),
  );
  assert.match(
    en((refused.effects.at(-1) as { message: CpWords }).message),
    /\(revoked: CP1 is revoked at Central\)/,
  );
  assert.match(
    es(refused),
    /^La Central rechazó el inicio de sesión para siempre \(revoked: CP1 está revocado en la Central\); no se reintenta\. Un administrador puede restaurar/,
  );
  const out = ended(logout({ reason: "revoked", retryable: false, ...notice("logout_revoked") }));
  assert.match(
    es(out),
    /^La Central cerró la sesión de este punto para siempre \(revoked: un administrador puso/,
  );
  const gone = ended(
    logout({ reason: "deregistered", retryable: false, ...notice("logout_deregistered") }),
  );
  assert.match(
    es(gone),
    /^Este punto se dio de baja en el Registry \(deregistered: este punto se dio de baja en el Registry\)/,
  );
  const retries: [LoginEnding, string][] = [
    [
      authFail({ reason: "bad_token", retryable: true, ...notice("login_stale_token") }),
      "inicio de sesión rechazado (bad_token: el token es anterior a la última revocación de " +
      "las claves de este punto: pida uno nuevo)",
    ],
    [
      logout({ reason: "key_rotated", retryable: true, ...notice("logout_key_rotated") }),
      "sesión cerrada (key_rotated: un administrador rotó la clave de este punto: inicie sesión " +
      "de nuevo para obtener otra)",
    ],
  ];
  for (const [ending, spanish] of retries) {
    assert.equal(sayWords("es", (ended(ending).effects.at(-1) as Wait).reason), spanish);
  }
});

Deno.test("a lost or refused Central connection retries with backoff", () => {
  const s = waits(
    ended({ kind: "lost", detail: "connection refused" }, { attempt: 10, random: 0.999999 }),
  );
  assert.equal(s.delayMs, BACKOFF.maxMs);
  assert.equal(s.reason, "connection refused");
});

Deno.test("Registry unreachable or failing: retry with backoff; 429 honours Retry-After", () => {
  for (const status of [0, 500, 503]) {
    const s = waits(
      ended(
        registryError("authenticate", { status, code: "registry_unavailable", detail: "down" }),
      ),
    );
    assert.match(s.reason, /Registry unavailable/);
  }
  const limited = waits(ended(
    registryError("authenticate", {
      status: 429,
      code: "rate_limited",
      detail: "",
      retryAfterSeconds: 30,
    }),
    { random: 0 },
  ));
  assert.equal(limited.delayMs, 30_000);
  assert.match(limited.reason, /rate limit/);
  const busy = waits(ended(
    registryError("authenticate", {
      status: 503,
      code: "registry_unavailable",
      detail: "busy",
      retryAfterSeconds: 2,
    }),
    { random: 0 },
  ));
  assert.equal(busy.delayMs, 2000, "a full hashing queue's Retry-After is honoured too");
});

Deno.test("Retry-After: never sooner than asked, jittered over as long again, capped", () => {
  const delays = [0, 0.25, 0.5, 0.75, 0.999].map((random) =>
    retryAfterDelayMs(2, { attempt: 0, random })
  );
  assert.deepEqual(delays, [2000, 2500, 3000, 3500, 3998], "spread over [2 s, 4 s)");
  assert.equal(
    retryAfterDelayMs(1, { attempt: 10, random: 0 }),
    BACKOFF.maxMs / 2,
    "never shorter than the attempt's backoff",
  );
  assert.equal(
    retryAfterDelayMs(86_400, { attempt: 0, random: 0 }),
    MAX_RETRY_AFTER_MS,
    "a day is read as the cap",
  );
  assert.equal(retryAfterDelayMs(-5, { attempt: 0, random: 0 }), 250, "a negative one is none");
});

Deno.test("Registry refusals are final and say what to do", () => {
  const refused = (call: "register" | "authenticate", status: number, code: string, detail = "") =>
    givesUp(ended(registryError(call, { status, code, detail })));
  assert.match(refused("authenticate", 401, "invalid_credentials"), /data\/cp\/CP1\.credentials/);
  assert.match(refused("authenticate", 403, "cp_deregistered"), /deregistered/);
  assert.match(refused("register", 409, "already_registered"), /already registered.*credentials/);
  assert.match(refused("register", 401, "unauthorized"), /REGISTRY_ADMIN_KEY/);
  assert.match(refused("register", 400, "validation_failed", "location"), /location/);
  const spanish = ended(registryError("authenticate", { status: 401, code: "x", detail: "no" }));
  assert.equal(
    sayWords("es", (spanish.effects.at(-1) as { message: CpWords }).message),
    "la autenticación en el Registry falló (401 x: no): el Registry no acepta las credenciales " +
      "de data/cp/CP1.credentials: ¿se registró de nuevo el punto o se reinició el Registry? " +
      "Borre el fichero para registrarlo de nuevo",
    "the monitor's advice in Spanish, the Registry's own words as it wrote them",
  );
});

Deno.test("giving up at a menu parks the monitor, drops the engine's key and starts the count over", () => {
  const interactive = { interactive: true };
  const final = ended(authFail({ reason: "revoked", retryable: false }), {
    attempt: 4,
    settings: interactive,
  });
  assert.deepEqual(final.effects.map((e) => e.type), ["revoke_key", "park"]);
  assert.match(en((final.effects[1] as { message: CpWords }).message), /not retrying/);
  assert.equal(final.model.attempt, 0);
  const retried = ended({ kind: "unreachable", detail: "x" }, {
    attempt: 4,
    settings: interactive,
  });
  assert.deepEqual(retried.effects.map((e) => e.type), ["wait"], "a retry is no give-up");
});

Deno.test("the operator's login or deregistration is no failure: no backoff after it", () => {
  const model = { ...INITIAL_MODEL, attempt: 4 };
  const ending: LoginEnding = { kind: "lost", detail: "closed" };
  const again = at(model, { type: "login_ended", ending, asked: "login" });
  assert.deepEqual([again.effects, again.model.attempt], [[{ type: "login" }], 0]);
  const gone = at(model, { type: "login_ended", ending, asked: "deregistered" });
  assert.deepEqual(gone.effects, [
    { type: "revoke_key" },
    { type: "park", message: { key: "deregisteredHere" } },
  ]);
  assert.equal(gone.model.attempt, 0);
});

Deno.test("engine health: KO when disconnected, silent or never answered; else its answer", () => {
  const t = 1_000_000;
  const tick: MonitorInput = { type: "tick" };
  assert.deepEqual(at(INITIAL_MODEL, tick, t), { model: INITIAL_MODEL, effects: [] }, "KO");
  const open = at(INITIAL_MODEL, { type: "engine_connected" }, t);
  assert.deepEqual([open.model.health, open.effects], ["KO", []], "no answer yet");
  const sent = at(open.model, { type: "health_check_sent" }, t);
  const ok = at(sent.model, { type: "engine_answered", engine: "OK" }, t);
  assert.deepEqual(ok.effects, [{ type: "health_changed", health: "OK" }]);
  assert.equal(at(ok.model, tick, t).model.health, "OK");
  const fault = at(ok.model, { type: "engine_answered", engine: "KO" }, t);
  assert.deepEqual(fault.effects, [{ type: "health_changed", health: "KO" }], "fault toggle on");

  const waiting = at(ok.model, { type: "health_check_sent" }, t).model;
  assert.equal(at(waiting, tick, t + HEALTH_TIMEOUT_MS).model.health, "OK", "still within 1.5 s");
  const silent = at(waiting, tick, t + HEALTH_TIMEOUT_MS + 1);
  assert.deepEqual(silent.effects, [{ type: "health_changed", health: "KO" }], "unanswered 1.5 s");
  const second = at(waiting, { type: "health_check_sent" }, t + 1000).model;
  assert.equal(second.probe.pendingSince, t, "the oldest unanswered check counts");
  const again = at(second, { type: "engine_answered", engine: "OK" }, t + 5000);
  assert.equal(again.model.health, "OK", "answered again");
  const lost = at(ok.model, { type: "engine_lost" }, t);
  assert.deepEqual(lost.effects, [{ type: "health_changed", health: "KO" }], "link lost");
});

Deno.test("engine health: a held-up monitor judges the engine's silence beyond its own lateness", () => {
  const t = 1_000_000;
  const open = at(INITIAL_MODEL, { type: "engine_connected" }, t).model;
  const ok = at(at(open, { type: "health_check_sent" }, t).model, {
    type: "engine_answered",
    engine: "OK",
  }, t).model;
  const waiting = at(ok, { type: "health_check_sent" }, t).model;
  const late = (input: MonitorInput, now: number, lagMs: number) =>
    at(waiting, input, now, 0.5, {}, lagMs).model.health;
  // Held up 2 s: the answer may be waiting unread, whichever input comes first after the stall.
  assert.equal(late({ type: "tick" }, t + 3000, 2000), "OK");
  assert.equal(late({ type: "health_check_sent" }, t + 3000, 2000), "OK");
  assert.equal(
    late({ type: "tick" }, t + HEALTH_TIMEOUT_MS + 2001, 2000),
    "KO",
    "silent beyond it",
  );
  assert.equal(late({ type: "tick" }, t + 3000, 0), "KO", "on time, 3 s unanswered is KO");
});
