import assert from "node:assert/strict";
import { EventQueue } from "./event_queue.ts";

const tel = (id: string, kwh: number, n: number) => ({
  id: `b-${n}`,
  type: "telemetry",
  data: { id, kwh },
});

Deno.test("event queue: telemetry of one CP merges into one event, in the first one's place", () => {
  const q = new EventQueue();
  q.push(tel("A", 1, 1));
  q.push(tel("B", 5, 2));
  q.push(tel("A", 2, 3));
  q.push(tel("A", 3, 4));
  assert.equal(q.size, 2);
  assert.deepEqual(q.take(), [tel("A", 3, 4), tel("B", 5, 2)]);
  assert.equal(q.size, 0);
});

Deno.test("event queue: a cp event ends the merge, so every change keeps its order", () => {
  const q = new EventQueue();
  q.push(tel("A", 1, 1));
  const cp = { id: "b-2", type: "cp", data: { id: "A", state: "STOPPED" } };
  const ticket = { id: "b-3", type: "ticket", data: { id: "S1", cp_id: "A" } };
  q.push(cp);
  q.push(ticket);
  q.push(tel("A", 2, 4));
  q.push(tel("A", 3, 5));
  assert.deepEqual(q.take(), [tel("A", 1, 1), cp, ticket, tel("A", 3, 5)]);
});

Deno.test("event queue: events without a CP id are queued as they are, and take empties it", () => {
  const q = new EventQueue();
  const audit = { id: "b-1", type: "audit", data: { seq: 1 } };
  const odd = { id: "b-2", type: "telemetry", data: null };
  q.push(audit);
  q.push(odd);
  q.push(odd);
  assert.deepEqual(q.take(), [audit, odd, odd]);
  q.push(tel("A", 1, 3));
  q.push(tel("A", 2, 4));
  assert.deepEqual(q.take(), [tel("A", 2, 4)]);
});
