/**
 * Central's Kafka inputs: the handlers `runConsumer` (shared/kafka.ts) calls for
 * `driver.requests` and `cp.telemetry`. Each turns one record into one core input and
 * dispatches it; `runConsumer` commits the offset only after the handler returns, i.e. after
 * the step's transaction, so a crash replays the record and the dedupe drops it.
 *
 * @module
 */
import {
  decodeEnvelope,
  EnvelopeError,
  openDecodedEnvelope,
  type ReplayMark,
} from "../shared/envelope.ts";
import { type ConsumedMessage, TOPICS } from "../shared/kafka.ts";
import { ENTITY_ID_PATTERN } from "../shared/encoding.ts";
import { getLogger } from "../shared/log.ts";
import {
  driverIdSchema,
  driverRequestSchema,
  parseMessage,
  requestIdSchema,
  telemetryPayloadSchema,
} from "../shared/messages.ts";
import type { Input } from "./core.ts";
import type { KeyVault } from "./keys.ts";
import type { CentralRuntime } from "./runtime.ts";

const log = getLogger(["evcharging", "central", "kafka"]);

/**
 * The `driver.requests` handler. `newSessionId` names the session an authorization opens
 * (random in production, predictable in tests).
 */
export function requestHandler(
  runtime: CentralRuntime,
  newSessionId: () => string = () => crypto.randomUUID(),
): (message: ConsumedMessage) => void {
  return (message) => {
    const now = Date.now();
    const parsed = parseMessage(driverRequestSchema, message.value);
    if (!parsed.ok) {
      // Answer if the request says who to answer; otherwise nobody is waiting for it.
      const fields = (message.value ?? {}) as { requestId?: unknown; driverId?: unknown };
      const requestId = requestIdSchema.safeParse(fields.requestId);
      const driverId = driverIdSchema.safeParse(fields.driverId);
      if (!requestId.success || !driverId.success) {
        log.warning("Unanswerable driver request at offset {offset} dropped: {reason}", {
          offset: message.offset,
          partition: message.partition,
          reason: parsed.reason,
        });
        return;
      }
      const duplicate = countDuplicate(runtime, driverId.data, requestId.data);
      runtime.dispatch({
        type: "invalid_request",
        requestId: requestId.data,
        driverId: driverId.data,
        detail: parsed.reason,
        duplicate,
      }, now);
      return;
    }
    const request = parsed.value;
    const duplicate = countDuplicate(runtime, request.driverId, request.requestId);
    if (request.type === "CHARGE_REQUEST") {
      runtime.dispatch({
        type: "charge_request",
        requestId: request.requestId,
        driverId: request.driverId,
        cpId: request.cpId,
        sessionId: newSessionId(),
        duplicate,
        ...(request.originIp === undefined ? {} : { originIp: request.originIp }),
      }, now);
    } else if (request.type === "CANCEL_REQUEST") {
      runtime.dispatch({
        type: "cancel_request",
        requestId: request.requestId,
        driverId: request.driverId,
        ...(request.sessionId === undefined ? {} : { sessionId: request.sessionId }),
        duplicate,
        ...(request.originIp === undefined ? {} : { originIp: request.originIp }),
      }, now);
    } else {
      runtime.dispatch({
        type: "cp_list_request",
        requestId: request.requestId,
        driverId: request.driverId,
        duplicate,
      }, now);
    }
  };
}

function countDuplicate(runtime: CentralRuntime, driverId: string, requestId: string): boolean {
  const duplicate = runtime.store.hasRequest(driverId, requestId);
  if (duplicate) {
    runtime.drops.duplicateRequests++;
    log.debug("Request {requestId} of {driverId} was answered before: dropped", {
      requestId,
      driverId,
    });
  }
  return duplicate;
}

/**
 * The `cp.telemetry` handler: opens the envelope with the vault's keyring, drops replays,
 * forgeries and invalid payloads (counted, logged and audited as `telemetry.reject`, flood
 * aggregated), and dispatches the payload with its replay mark, which is stored in the same
 * transaction as the effect. One message at a time; see {@link telemetryBatchHandler}.
 */
export function telemetryHandler(
  runtime: CentralRuntime,
  vault: KeyVault,
): (message: ConsumedMessage) => void {
  const batch = telemetryBatchHandler(runtime, vault);
  return (message) => batch([message]);
}

/**
 * {@link telemetryHandler} for consecutive messages of one partition: each envelope is decoded
 * once and opened on the spot (`node:crypto`, cheaper than Web Crypto's asynchronous round trip
 * per message), then every valid payload is dispatched in one store transaction with its replay
 * mark, in partition order. Nothing awaits from the first open to the commit, so no other input
 * can interleave. If that transaction fails nothing is kept, and the replay guard has not moved,
 * so the redelivered batch is handled again in full.
 */
export function telemetryBatchHandler(
  runtime: CentralRuntime,
  vault: KeyVault,
): (messages: readonly ConsumedMessage[]) => void {
  const channel = TOPICS.cpTelemetry;
  const audit = (message: ConsumedMessage, reason: string) => {
    // The record key is the sender's claim, anyone may write any: only an id-shaped one is named.
    const cpId = message.key !== null && ENTITY_ID_PATTERN.test(message.key) ? message.key : null;
    runtime.audit({
      actor: cpId === null ? "cp:invalid" : `cp:${cpId}`,
      action: "telemetry.reject",
      outcome: "rejected",
      params: { cpId, reason, partition: message.partition, offset: message.offset },
    }, true);
  };
  const reject = (message: ConsumedMessage, reason: string, detail: string) => {
    runtime.drops.rejectedTelemetry++;
    const byReason = runtime.drops.rejectedTelemetryByReason;
    byReason[reason] = (byReason[reason] ?? 0) + 1;
    audit(message, reason);
    // The record key names the CP; `cpId`, not `key`, or log redaction hides it.
    log.warning("Telemetry rejected ({reason}) from {cpId} at offset {offset}: {detail}", {
      reason,
      cpId: message.key,
      offset: message.offset,
      partition: message.partition,
      detail,
    });
  };
  // A replay is a record seen before: published again by someone, or re-read after a crash
  // (then a few, and aggregated). Either way it is dropped and audited, without a warning.
  const replay = (message: ConsumedMessage) => {
    runtime.drops.duplicateTelemetry++;
    audit(message, "replay");
  };

  return (messages) => {
    // Marks accepted by this batch, not yet stored: the guard moves only after the commit.
    const pending = new Map<string, number>();
    const markKey = (m: ReplayMark) => `${m.cp}|${m.kv}|${m.channel}`;
    const isReplay = (mark: ReplayMark) =>
      mark.seq <= Math.max(
        vault.guard.highWater(mark.cp, mark.kv, mark.channel) ?? -1,
        pending.get(markKey(mark)) ?? -1,
      );

    const steps: { input: Input; mark: ReplayMark }[] = [];
    const now = Date.now();
    for (const message of messages) {
      let decoded;
      try {
        decoded = decodeEnvelope(message.value);
      } catch (error) {
        reject(message, "malformed", (error as Error).message);
        continue;
      }
      const { envelope } = decoded;
      const mark = { cp: envelope.cp, kv: envelope.kv, channel, seq: envelope.seq };
      if (isReplay(mark)) {
        replay(message);
        continue;
      }
      let payload: unknown;
      try {
        payload = openDecodedEnvelope(vault.keyring, decoded, {
          channel,
          expectCp: message.key ?? "",
        });
      } catch (error) {
        if (!(error instanceof EnvelopeError)) throw error;
        reject(message, error.reason, error.message);
        continue;
      }
      const parsed = parseMessage(telemetryPayloadSchema, payload);
      if (!parsed.ok) {
        reject(message, "invalid_payload", parsed.reason);
        continue;
      }
      pending.set(markKey(mark), mark.seq);
      steps.push({ input: { type: "telemetry", cpId: mark.cp, payload: parsed.value }, mark });
    }
    if (steps.length === 0) return;
    runtime.dispatchAll(steps, now);
    for (const { mark } of steps) vault.guard.accept(mark.cp, mark.kv, mark.channel, mark.seq);
  };
}
