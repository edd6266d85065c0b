/**
 * Central's Kafka inputs: the handlers `runConsumer` (shared/kafka.ts) calls for
 * `driver.requests` and `cp.telemetry`. Each turns one record into one core input and
 * dispatches it; `runConsumer` commits the offset only after the handler returns, i.e. after
 * the step's transaction, so a crash replays the record and the dedupe drops it.
 *
 * @module
 */
import { EnvelopeError, openingKeyBytes, type ReplayMark } from "../shared/envelope.ts";
import { TOPICS } from "../shared/kafka.ts";
import { type ConsumedMessage } from "../shared/kafka_consumer.ts";
import { ENTITY_ID_PATTERN } from "../shared/encoding.ts";
import { getLogger } from "../shared/log.ts";
import {
  driverIdSchema,
  driverRequestSchema,
  parseMessage,
  requestIdSchema,
} from "../shared/messages.ts";
import type { Input } from "./core.ts";
import type { KeyVault } from "./keys.ts";
import type { CentralRuntime } from "./runtime.ts";
import {
  batchKeys,
  keyId,
  openBatch,
  type Opened,
  openRecord,
  packValues,
  utf8Text,
} from "./telemetry_open.ts";
import type { TelemetryOpener } from "./telemetry_opener.ts";

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
  opener?: TelemetryOpener,
): (message: ConsumedMessage<Uint8Array>) => void | Promise<void> {
  const batch = telemetryBatchHandler(runtime, vault, opener);
  return (message) => batch([message]);
}

/**
 * {@link telemetryHandler} for consecutive messages of one partition, their values as Kafka's
 * bytes (`runConsumer`'s `raw`). Each value is parsed, decoded, opened (`node:crypto`) and its
 * payload validated by {@link openBatch}: on a second thread through `opener` when there is one
 * and the batch is large enough, else here. The keys go with the batch, those the keyring
 * accepts when it is sent for the CPs the records were sent as. The results are then applied here,
 * all on one turn: each record meets the checks in the order a synchronous open makes them
 * (shape, replay mark, CP, the keyring as it is now, tag, payload), a key the keyring no longer
 * gives as it gave it is not trusted (revoked or expired meanwhile: refused; another: opened
 * again here), and every valid payload is dispatched in one store transaction with its replay
 * mark, in partition order. If that transaction fails nothing is kept, and the replay guard has
 * not moved, so the redelivered batch is handled again in full.
 */
export function telemetryBatchHandler(
  runtime: CentralRuntime,
  vault: KeyVault,
  opener?: TelemetryOpener,
): (messages: readonly ConsumedMessage<Uint8Array>[]) => void | Promise<void> {
  const channel = TOPICS.cpTelemetry;
  const audit = (message: ConsumedMessage<Uint8Array>, reason: string) => {
    // The record key is the sender's claim, anyone may write any: only an id-shaped one is named.
    const cpId = message.key !== null && ENTITY_ID_PATTERN.test(message.key) ? message.key : null;
    runtime.audit({
      actor: cpId === null ? "cp:invalid" : `cp:${cpId}`,
      action: "telemetry.reject",
      outcome: "rejected",
      params: { cpId, reason, partition: message.partition, offset: message.offset },
    }, true);
  };
  const reject = (message: ConsumedMessage<Uint8Array>, reason: string, detail: string) => {
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
  const replay = (message: ConsumedMessage<Uint8Array>) => {
    runtime.drops.duplicateTelemetry++;
    audit(message, "replay");
  };
  const keyFor = (cp: string, kv: number) => vault.keyring.keyFor(cp, kv);

  const apply = (
    messages: readonly ConsumedMessage<Uint8Array>[],
    opened: readonly Opened[],
    used: ReadonlyMap<string, CryptoKey>,
  ) => {
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
    messages.forEach((message, i) => {
      let result = opened[i];
      if (result.type === "malformed") return reject(message, "malformed", result.detail);
      const { cp, kv, seq } = result.header;
      const mark = { cp, kv, channel, seq };
      if (isReplay(mark)) return replay(message);
      if (result.type === "cp_mismatch") return reject(message, "cp_mismatch", result.detail);
      let key: CryptoKey;
      try {
        key = keyFor(cp, kv);
      } catch (error) {
        if (!(error instanceof EnvelopeError)) throw error;
        return reject(message, error.reason, error.message);
      }
      if (used.get(keyId(cp, kv)) !== key) {
        result = openRecord(
          utf8Text(message.value),
          message.key,
          channel,
          () => openingKeyBytes(key),
        );
      }
      if (result.type !== "payload") return reject(message, ...refusal(result));
      pending.set(markKey(mark), mark.seq);
      steps.push({ input: { type: "telemetry", cpId: cp, payload: result.payload }, mark });
    });
    if (steps.length === 0) return;
    runtime.dispatchAll(steps, now);
    for (const { mark } of steps) vault.guard.accept(mark.cp, mark.kv, mark.channel, mark.seq);
  };

  return (messages) => {
    const expectCps = messages.map((m) => m.key);
    const { keys, used } = batchKeys(expectCps, (cp) => vault.keyring.openable(cp));
    const batch = { channel, ...packValues(messages.map((m) => m.value)), expectCps, keys };
    const opened = opener === undefined ? openBatch(batch) : opener.open(batch);
    return opened instanceof Promise
      ? opened.then((results) => apply(messages, results, used))
      : apply(messages, opened, used);
  };
}

/** The reason and detail of a record that did not open to a valid payload. */
function refusal(result: Exclude<Opened, { type: "payload" }>): [string, string] {
  switch (result.type) {
    case "malformed":
    case "cp_mismatch":
      return [result.type, result.detail];
    case "refused":
      return [result.reason, result.detail];
    case "no_key": // opened again with the keyring's key, so never here
      throw new Error(`no key for CP ${result.header.cp} kv ${result.header.kv}`);
  }
}
