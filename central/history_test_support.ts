/**
 * Test-only sessions for the history tests (central/session_history_test.ts,
 * central/api_history_test.ts): a store holding numbered sessions at known times.
 *
 * @module
 */
import type { Session } from "./core.ts";
import { CentralStore } from "./store.ts";

/** The first session's start. */
export const T0 = Date.parse("2026-12-01T00:00:00.000Z");
/** One hour, ms. */
export const HOUR = 3_600_000;
/** ms → ISO. */
export const iso = (ms: number) => new Date(ms).toISOString();

/** Session `n`: started n hours after T0 at CP-(n%3), by D-(n%2); even ones ended 30 min later. */
export function session(n: number, over: Partial<Session> = {}): Session {
  const started = T0 + n * HOUR;
  const ended = n % 2 === 0 ? iso(started + HOUR / 2) : null;
  return {
    id: `S-${String(n).padStart(3, "0")}`,
    cpId: `CP-${n % 3}`,
    driverId: `DRV-${n % 2}`,
    requestId: `r${n}`,
    priceEurKwh: 0.5,
    powerKw: 22,
    startedAt: iso(started),
    pluggedAt: null,
    endedAt: ended,
    kw: 0,
    kwh: n,
    eur: n / 2,
    endReason: ended === null ? null : "unplugged",
    pendingEnd: null,
    ...over,
  };
}

/** A store holding sessions 0…n-1, closed when disposed. */
export function storeWith(n: number): CentralStore & Disposable {
  const store = CentralStore.open(":memory:");
  store.commit(
    Array.from({ length: n }, (_, i) => ({ type: "save_session" as const, session: session(i) })),
  );
  return Object.assign(store, { [Symbol.dispose]: () => store.close() });
}
