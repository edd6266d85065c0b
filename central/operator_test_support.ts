/**
 * Test-only: a runtime over an in-memory store with helpers that drive the real core the way
 * the edges do, for the operator console's tests (alarms, availability, console routes).
 *
 * @module
 */
import type { AuditEntry } from "./audit_chain.ts";
import { DEFAULT_CORE_CONFIG, EMPTY_MODEL, type Input } from "./core.ts";
import { dispatch, type Timed } from "./core_test_support.ts";
import { type AuditSink, CentralRuntime } from "./runtime.ts";
import { CentralStore } from "./store.ts";

/** A UTC midnight plus ten hours. */
export const T0 = Date.parse("2026-12-05T10:00:00.000Z");

/** An audit sink that keeps what is appended in `entries` and lists nothing. */
export function auditInto(entries: AuditEntry[] = []): AuditSink {
  return {
    append: (entry) => void entries.push(entry),
    offer: () => {},
    list: () => ({ items: [], total: 0 }),
  };
}

/** A runtime (auditing to `audit`, if given) and the inputs the tests send it. */
export function operatorRuntime(audit?: AuditSink) {
  const store = CentralStore.open(":memory:");
  const runtime = new CentralRuntime(store, EMPTY_MODEL, DEFAULT_CORE_CONFIG, audit);
  const connections = new Map<string, number>();
  let next = 1;
  const send = (...steps: Timed[]) => dispatch(runtime, ...steps);
  const sendAt = (now: number, input: Input) => runtime.dispatch(input, now);
  return {
    store,
    runtime,
    login(cpId: string, now: number) {
      const connection = next++;
      connections.set(cpId, connection);
      sendAt(now, {
        type: "login",
        cpId,
        connection,
        registry: { location: "Madrid", priceEurKwh: 0.5, powerKw: 22 },
        keyVersion: connection,
        wrappedKey: "w",
      });
    },
    disconnect(cpId: string, now: number) {
      sendAt(now, { type: "disconnect", cpId, connection: connections.get(cpId)! });
    },
    engine(cpId: string, engine: "OK" | "KO", now: number) {
      sendAt(now, { type: "health", cpId, connection: connections.get(cpId)!, engine });
    },
    weather(cpId: string, status: "alert" | "clear", now: number) {
      sendAt(now, {
        type: "weather",
        cpId,
        city: "Madrid",
        temperatureC: status === "alert" ? -3 : 5,
        status,
      });
    },
    revoke(cpId: string, rotate: boolean, now: number) {
      sendAt(now, { type: "revoke_keys", cpId, rotate });
    },
    send,
    [Symbol.dispose]: () => store.close(),
  };
}
