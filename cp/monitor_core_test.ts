import assert from "node:assert/strict";
import {
  afterAuthFail,
  afterConnectionLost,
  afterLogout,
  afterRegistryError,
  BACKOFF,
  backoffDelayMs,
  decide,
  DISCONNECTED_PROBE,
  engineHealth,
  HEALTH_TIMEOUT_MS,
  MAX_RETRY_AFTER_MS,
  type NextStep,
  probeAnswered,
  probeConnected,
  probeSent,
  retryAfterDelayMs,
  REVOKED_WAIT_MS,
  STABLE_CONNECTION_MS,
} from "./monitor_core.ts";
import type { AuthFail, Logout } from "../shared/messages.ts";

const ctx = { attempt: 0, random: 0.5 };
const retry = (s: NextStep) => {
  assert.equal(s.kind, "retry", s.kind === "give_up" ? s.message : "");
  return s as Extract<NextStep, { kind: "retry" }>;
};
const giveUp = (s: NextStep) => {
  assert.equal(s.kind, "give_up");
  return s as Extract<NextStep, { kind: "give_up" }>;
};

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

Deno.test("decide: the attempt count grows per failure and starts over after a stable login", () => {
  let attempt = 0;
  const delays: number[] = [];
  for (let i = 0; i < 7; i++) {
    const d = decide({ kind: "unreachable", detail: "refused" }, attempt, 0.999999);
    delays.push((d.step as Extract<NextStep, { kind: "retry" }>).delayMs);
    attempt = d.attempt;
  }
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 10_000, 10_000]);

  const short = decide({ kind: "lost", detail: "x", connectedMs: STABLE_CONNECTION_MS - 1 }, 5, 0);
  assert.deepEqual([retry(short.step).delayMs, short.attempt], [5000, 6]);
  const stable = decide({ kind: "lost", detail: "x", connectedMs: STABLE_CONNECTION_MS }, 5, 0);
  assert.deepEqual([retry(stable.step).delayMs, stable.attempt], [250, 1]);
});

Deno.test("decide: each ending goes to its rule", () => {
  const file = "data/cp/CP1.credentials";
  const fatal = decide({ kind: "fatal", message: "no admin key" }, 0, 0);
  assert.equal(giveUp(fatal.step).message, "no admin key");
  const registry = decide(
    {
      kind: "registry_error",
      call: "authenticate",
      failure: { status: 401, code: "invalid_credentials", detail: "" },
      credentialsFile: file,
    },
    0,
    0,
  );
  assert.match(giveUp(registry.step).message, /CP1\.credentials/);
  const auth = decide(
    { kind: "auth_fail", fail: { reason: "expired_token", retryable: true } },
    3,
    0,
  );
  assert.deepEqual([retry(auth.step).delayMs, auth.attempt], [2000, 4]);
  const logout = decide(
    {
      kind: "logout",
      logout: { reason: "key_revoked", retryable: true },
      connectedMs: 60_000,
    },
    3,
    0,
  );
  assert.deepEqual([logout.revokeKey, logout.attempt], [true, 1]);
  assert.equal(retry(logout.step).delayMs, REVOKED_WAIT_MS, "the default wait");
  const passed = decide(
    { kind: "logout", logout: { reason: "key_revoked", retryable: true } },
    0,
    0,
    1234,
  );
  assert.equal(retry(passed.step).delayMs, 1234, "the wait passed in");
  assert.equal(decide({ kind: "unreachable", detail: "x" }, 0, 0).revokeKey, false);
});

Deno.test("AUTH_FAIL retryable:false gives up with a clear message", () => {
  for (const reason of ["revoked", "deregistered", "unknown_cp", "cp_mismatch"] as const) {
    const s = giveUp(afterAuthFail({ reason, retryable: false }, ctx));
    assert.match(s.message, new RegExp(reason));
    assert.match(s.message, /not retrying/);
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
    const s = retry(
      afterAuthFail({ reason, retryable: true, detail: "later" }, { attempt: 2, random: 0 }),
    );
    assert.equal(s.delayMs, 1000);
    assert.match(s.reason, new RegExp(`${reason}: later`));
  }
});

Deno.test("LOGOUT: final when not retryable; a rotation logs in again at once, a revocation after the wait", () => {
  const final = afterLogout({ reason: "revoked", retryable: false }, ctx);
  assert.equal(final.kind, "give_up");
  assert.equal(final.revokeKey, true);

  const rotated = afterLogout({ reason: "key_rotated", retryable: true }, ctx);
  assert.deepEqual(
    [rotated.kind, rotated.kind === "retry" && rotated.delayMs, rotated.revokeKey],
    ["retry", 0, true],
  );
  const revoked = afterLogout({ reason: "key_revoked", retryable: true }, ctx);
  assert.ok(revoked.kind === "retry");
  assert.deepEqual([revoked.delayMs, revoked.revokeKey, revoked.countdown], [
    REVOKED_WAIT_MS,
    true,
    true,
  ]);
  assert.match(revoked.reason, /key revoked .*re-authenticating in 10 s/);
  const shortened = afterLogout(
    { reason: "key_revoked", retryable: true },
    { ...ctx, revokedWaitMs: 2500 },
  );
  assert.ok(shortened.kind === "retry");
  assert.equal(shortened.delayMs, 2500);
  assert.match(shortened.reason, /re-authenticating in 3 s/);

  const waits: Logout["reason"][] = ["shutdown", "replaced"];
  for (const reason of waits) {
    const s = afterLogout({ reason, retryable: true }, { attempt: 1, random: 0 });
    assert.ok(s.kind === "retry");
    assert.deepEqual([s.delayMs, s.revokeKey], [500, false]);
  }
});

Deno.test("deregistered: the monitor stops for good, says so and what to do, even if told to retry", () => {
  for (const retryable of [false, true]) {
    const logout = afterLogout({ reason: "deregistered", retryable }, ctx);
    assert.equal(logout.kind, "give_up");
    assert.equal(logout.revokeKey, true, "the engine drops the key");
    const fail = giveUp(
      afterAuthFail({ reason: "deregistered", retryable }, ctx),
    );
    for (const s of [fail, logout as Extract<NextStep, { kind: "give_up" }>]) {
      assert.match(s.message, /deregistered in the Registry/);
      assert.match(s.message, /not retrying/);
      assert.match(s.message, /register it again/);
    }
  }
});

Deno.test("a lost or refused Central connection retries with backoff", () => {
  const s = retry(afterConnectionLost("connection refused", { attempt: 10, random: 0.999999 }));
  assert.equal(s.delayMs, BACKOFF.maxMs);
  assert.equal(s.reason, "connection refused");
});

Deno.test("Registry unreachable or failing: retry with backoff; 429 honours Retry-After", () => {
  const base = {
    ...ctx,
    call: "authenticate" as const,
    credentialsFile: "data/cp/CP1.credentials",
  };
  for (const status of [0, 500, 503]) {
    const s = retry(
      afterRegistryError({ status, code: "registry_unavailable", detail: "down" }, base),
    );
    assert.match(s.reason, /Registry unavailable/);
  }
  const limited = retry(
    afterRegistryError(
      { status: 429, code: "rate_limited", detail: "", retryAfterSeconds: 30 },
      { ...base, random: 0 },
    ),
  );
  assert.equal(limited.delayMs, 30_000);
  assert.match(limited.reason, /rate limit/);
  const busy = retry(
    afterRegistryError(
      { status: 503, code: "registry_unavailable", detail: "busy", retryAfterSeconds: 2 },
      { ...base, random: 0 },
    ),
  );
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
  const auth = {
    ...ctx,
    call: "authenticate" as const,
    credentialsFile: "data/cp/CP1.credentials",
  };
  assert.match(
    giveUp(afterRegistryError({ status: 401, code: "invalid_credentials", detail: "" }, auth))
      .message,
    /data\/cp\/CP1\.credentials/,
  );
  assert.match(
    giveUp(afterRegistryError({ status: 403, code: "cp_deregistered", detail: "" }, auth)).message,
    /deregistered/,
  );
  const reg = { ...auth, call: "register" as const };
  assert.match(
    giveUp(afterRegistryError({ status: 409, code: "already_registered", detail: "" }, reg))
      .message,
    /already registered.*credentials/,
  );
  assert.match(
    giveUp(afterRegistryError({ status: 401, code: "unauthorized", detail: "" }, reg)).message,
    /REGISTRY_ADMIN_KEY/,
  );
  assert.match(
    giveUp(afterRegistryError({ status: 400, code: "validation_failed", detail: "location" }, reg))
      .message,
    /location/,
  );
});

Deno.test("engine health: KO when disconnected, silent or never answered; else its answer", () => {
  const t = 1_000_000;
  assert.equal(engineHealth(DISCONNECTED_PROBE, t), "KO");
  const open = probeConnected();
  assert.equal(engineHealth(open, t), "KO", "no answer yet");
  const ok = probeAnswered(probeSent(open, t), "OK");
  assert.equal(engineHealth(ok, t), "OK");
  assert.equal(engineHealth(probeAnswered(ok, "KO"), t), "KO", "fault toggle on");

  const waiting = probeSent(ok, t);
  assert.equal(engineHealth(waiting, t + HEALTH_TIMEOUT_MS), "OK", "still within 1.5 s");
  assert.equal(engineHealth(waiting, t + HEALTH_TIMEOUT_MS + 1), "KO", "unanswered for 1.5 s");
  const second = probeSent(waiting, t + 1000);
  assert.equal(second.pendingSince, t, "the oldest unanswered check counts");
  assert.equal(engineHealth(probeAnswered(second, "OK"), t + 5000), "OK", "answered again");
});
