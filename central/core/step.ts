/**
 * Central's step: one input (or a batch) applied to the model on a {@link Draft}, each input
 * handed to the room of the core it concerns.
 *
 * @module
 */
import {
  cancelRequest,
  chargeRequest,
  health,
  invalidRequest,
  listRequest,
  lose,
  maintenance,
  resume,
  stop,
  telemetry,
  tick,
  weather,
} from "./charging.ts";
import { Draft } from "./draft.ts";
import type { CoreContext, Effect, Input, Model, Step } from "./model.ts";
import { registryChange } from "./registry.ts";
import { login, loginFailed, restore, revokeKeys, setSecurity } from "./security.ts";

/**
 * Applies one input to the model at `context.now`. Pure: the same model, input and context
 * always give the same step.
 */
export function step(model: Model, input: Input, context: CoreContext): Step {
  const d = new Draft(model);
  applyInput(d, input, context);
  return d.result();
}

/**
 * Applies several inputs in order, as many {@link step}s with the same context would, but on
 * one draft: the model's maps are copied once for all of them, not once per input (a batch of
 * telemetry touches the same maps a thousand times). Returns the last model and each input's
 * effects.
 */
export function stepAll(
  model: Model,
  inputs: readonly Input[],
  context: CoreContext,
): { readonly model: Model; readonly effects: readonly (readonly Effect[])[] } {
  const d = new Draft(model);
  const effects = inputs.map((input) => {
    const from = d.effectCount;
    applyInput(d, input, context);
    return d.effectsSince(from);
  });
  return { model: d.model(), effects };
}

function applyInput(d: Draft, input: Input, context: CoreContext): void {
  const { config, now } = context;
  switch (input.type) {
    case "login":
      login(d, input, now);
      break;
    case "heartbeat": {
      const cp = d.connectedCp(input.cpId, input.connection);
      if (cp) d.setCp({ ...cp, lastSeenMs: now }, false);
      break;
    }
    case "heartbeats":
      for (const beat of input.beats) {
        const cp = d.connectedCp(beat.cpId, beat.connection);
        if (cp) d.setCp({ ...cp, lastSeenMs: Math.max(cp.lastSeenMs ?? 0, beat.seenMs) }, false);
      }
      break;
    case "health":
      health(d, input, now);
      break;
    case "maintenance":
      maintenance(d, input, context);
      break;
    case "disconnect": {
      const cp = d.connectedCp(input.cpId, input.connection);
      if (cp) lose(d, cp, "closed", "info", "CP {cpId} disconnected");
      break;
    }
    case "charge_request":
      if (!input.duplicate) chargeRequest(d, input, context);
      break;
    case "cp_list_request":
      if (!input.duplicate) listRequest(d, input, now);
      break;
    case "invalid_request":
      if (!input.duplicate) invalidRequest(d, input, now);
      break;
    case "cancel_request":
      if (!input.duplicate) cancelRequest(d, input, now);
      break;
    case "telemetry":
      telemetry(d, input.cpId, input.payload, now);
      break;
    case "stop":
      for (const cp of d.targets(input.cpId)) stop(d, cp, input.reason, context);
      break;
    case "resume":
      for (const cp of d.targets(input.cpId)) resume(d, cp, context);
      break;
    case "weather":
      weather(d, input, context);
      break;
    case "tick":
      tick(d, input.lagMs ?? 0, context);
      break;
    case "start":
      for (const session of [...d.model().sessions.values()]) {
        if (session.pendingEnd === null) continue;
        const deadlineMs = Math.max(session.pendingEnd.deadlineMs, now + config.stopWaitMs);
        d.setSession({ ...session, pendingEnd: { ...session.pendingEnd, deadlineMs } });
      }
      break;
    case "login_failed":
      loginFailed(d, input);
      break;
    case "revoke_keys":
      revokeKeys(d, input, now);
      break;
    case "set_security":
      setSecurity(d, input, context);
      break;
    case "restore":
      restore(d, input, context);
      break;
    case "registry_change":
      registryChange(d, input, now);
      break;
  }
}
