/**
 * What drivers, engines and audit readers would see on Kafka, filtered to one test's ids, for
 * tests that drive a real Central over a real broker without real CPs or drivers: it sends
 * driver requests and sealed telemetry like they would, and collects `driver.updates`,
 * `cp.commands` and `audit.events`.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { AuditRecord } from "../central/audit_chain.ts";
import { decodeBase64 } from "../shared/encoding.ts";
import { type Envelope, openEnvelope, sealEnvelope, SeqCounter } from "../shared/envelope.ts";
import { type JsonProducer, TOPICS } from "../shared/kafka.ts";
import {
  type CommandPayload,
  commandPayloadSchema,
  driverRequestSchema,
  type DriverUpdate,
  parseMessage,
  telemetryPayloadSchema,
} from "../shared/messages.ts";
import { openTestClient, type TestClient } from "./kafka_env.ts";

/**
 * Fails when any of `plains` can be read in a sealed envelope: it must have exactly the envelope's
 * fields, and neither its clear fields nor its `iv` and `ct` decoded from base64 may hold a plain
 * as JSON writes it, in quotes. The quotes keep chance out: base64 text never holds one, and
 * random bytes hold a given run of 5 about once in 2^40 places (a bare "kwh" once turned up in
 * a CI run's base64).
 */
export function assertSealed(value: unknown, plains: readonly string[]): void {
  assert.deepEqual(Object.keys(value as object).sort(), ["cp", "ct", "iv", "kv", "seq", "v"]);
  const { iv, ct, ...clear } = value as Envelope;
  const texts = [JSON.stringify(clear)];
  for (const field of [iv, ct]) {
    const bytes = decodeBase64(field);
    assert.ok(bytes, `iv and ct are base64 in ${JSON.stringify(value)}`);
    texts.push(new TextDecoder("latin1").decode(bytes));
  }
  for (const quoted of plains.map((plain) => JSON.stringify(plain))) {
    assert.ok(texts.every((text) => !text.includes(quoted)), `${quoted} readable in the envelope`);
  }
}

/** A test's view of the Kafka topics around Central. */
export class KafkaWire {
  /** `driver.updates` for the driver. */
  readonly updates: DriverUpdate[] = [];
  /** `cp.commands` envelopes for the CPs. */
  readonly commands: Envelope[] = [];
  /** `audit.events` records about the CPs. */
  readonly audit: AuditRecord[] = [];
  readonly #seq = new SeqCounter();
  #client: TestClient | undefined;

  /**
   * Creates the topics (Central may not have yet), a producer and a reader from the start, or
   * with `atEnd` from now on (for ids nothing was sent for yet: the shared broker's earlier runs
   * are then not read through first).
   */
  static async open(
    driverId: string,
    cpIds: readonly string[],
    options: { readonly atEnd?: boolean } = {},
  ): Promise<KafkaWire> {
    const wire = new KafkaWire();
    const topics = [TOPICS.driverUpdates, TOPICS.cpCommands, TOPICS.auditEvents];
    wire.#client = await openTestClient("kafka-wire", topics, (m) => {
      if (m.topic === TOPICS.driverUpdates && m.key === driverId) {
        wire.updates.push(m.value as DriverUpdate);
      }
      if (m.topic === TOPICS.cpCommands && cpIds.includes(m.key ?? "")) {
        wire.commands.push(m.value as Envelope);
      }
      const record = m.value as AuditRecord;
      if (m.topic === TOPICS.auditEvents && cpIds.includes(String(record.params?.cpId))) {
        wire.audit.push(record);
      }
    }, options);
    return wire;
  }

  /** The producer, for sending raw records (replays, garbage). */
  get producer(): JsonProducer {
    assert.ok(this.#client);
    return this.#client.producer;
  }

  /** Sends a driver request (checked against the schema first). */
  async request(driverId: string, fields: Record<string, unknown>): Promise<void> {
    const parsed = parseMessage(driverRequestSchema, {
      v: 1,
      ts: new Date().toISOString(),
      ...fields,
    });
    assert.ok(parsed.ok, parsed.ok ? "" : parsed.reason);
    await this.producer.send(TOPICS.driverRequests, driverId, parsed.value);
  }

  /** Sends `CHARGE_REQUEST{requestId}` of `driverId` for `cpId`. */
  charge(driverId: string, requestId: string, cpId: string): Promise<void> {
    return this.request(driverId, { type: "CHARGE_REQUEST", requestId, driverId, cpId });
  }

  /**
   * Seals a telemetry payload like an engine and sends it under `kafkaKey` (default the CP id);
   * returns the envelope sent.
   */
  async telemetry(
    cpId: string,
    kv: number,
    key: CryptoKey,
    payload: Record<string, unknown>,
    kafkaKey = cpId,
  ): Promise<Envelope> {
    const parsed = parseMessage(telemetryPayloadSchema, {
      v: 1,
      ts: new Date().toISOString(),
      ...payload,
    });
    assert.ok(parsed.ok, parsed.ok ? "" : parsed.reason);
    const envelope = await sealEnvelope(key, {
      cp: cpId,
      kv,
      seq: this.#seq.next(cpId, kv),
      channel: TOPICS.cpTelemetry,
    }, parsed.value);
    await this.producer.send(TOPICS.cpTelemetry, kafkaKey, envelope);
    return envelope;
  }

  /** The driver updates of one type. */
  of<T extends DriverUpdate["type"]>(type: T): Extract<DriverUpdate, { type: T }>[] {
    return this.updates.filter((u): u is Extract<DriverUpdate, { type: T }> => u.type === type);
  }

  /** The commands for `cpId` that open under `key`. */
  async commandsFor(cpId: string, key: CryptoKey): Promise<CommandPayload[]> {
    const out: CommandPayload[] = [];
    for (const envelope of this.commands.filter((e) => e.cp === cpId)) {
      try {
        const value = await openEnvelope(key, envelope, {
          channel: TOPICS.cpCommands,
          expectCp: cpId,
        });
        const parsed = parseMessage(commandPayloadSchema, value);
        if (parsed.ok) out.push(parsed.value);
      } catch {
        // sealed under another key version
      }
    }
    return out;
  }

  /** Stops the reader and the producer. */
  async close(): Promise<void> {
    await this.#client?.close();
  }
}
