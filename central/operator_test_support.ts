/**
 * Test-only: a runtime over an in-memory store with helpers that drive the real core the way
 * the edges do, for the operator console's tests (alarms, availability, console routes).
 *
 * @module
 */
import type { AuditEntry } from "./audit_chain.ts";
import { DEFAULT_CORE_CONFIG, EMPTY_MODEL, type Input } from "./core.ts";
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
  const send = (input: Input) => runtime.dispatch(input);
  return {
    store,
    runtime,
    login(cpId: string, at: number) {
      const connection = next++;
      connections.set(cpId, connection);
      send({
        type: "login",
        cpId,
        connection,
        registry: { location: "Madrid", priceEurKwh: 0.5, powerKw: 22 },
        keyVersion: connection,
        wrappedKey: "w",
        at,
      });
    },
    disconnect(cpId: string, at: number) {
      send({ type: "disconnect", cpId, connection: connections.get(cpId)!, at });
    },
    engine(cpId: string, engine: "OK" | "KO", at: number) {
      send({ type: "health", cpId, connection: connections.get(cpId)!, engine, at });
    },
    weather(cpId: string, status: "alert" | "clear", at: number) {
      send({
        type: "weather",
        cpId,
        city: "Madrid",
        temperatureC: status === "alert" ? -3 : 5,
        status,
        at,
      });
    },
    revoke(cpId: string, rotate: boolean, at: number) {
      send({ type: "revoke_keys", cpId, rotate, at });
    },
    send,
    [Symbol.dispose]: () => store.close(),
  };
}
