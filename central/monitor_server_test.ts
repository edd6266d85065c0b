// First: registry/schemas.ts needs @hono/zod-openapi loaded before shared/messages.ts.
import { RegistryUnavailableError } from "../registry/client.ts";
import assert from "node:assert/strict";
import { InvalidTokenError } from "../registry/tokens.ts";
import { noticeText } from "../shared/notices.ts";
import { EMPTY_MODEL } from "./core.ts";
import { cpLogin, cpOf, run, T0 } from "./core_test_support.ts";
import { registryFailure, staleToken } from "./monitor_server.ts";

Deno.test("monitor server: a token or Registry failure is refused with its code beside the English words", () => {
  const refusals = [
    registryFailure(new InvalidTokenError("expired", "token expired")),
    registryFailure(new InvalidTokenError("bad_signature", "token signature does not verify")),
    registryFailure(new RegistryUnavailableError("connection refused")),
    registryFailure(new Error("a bug")),
  ];
  assert.deepEqual(refusals, [
    {
      reason: "expired_token",
      retryable: true,
      detail: "the token expired: get a new one",
      detail_code: "login_token_expired",
      detail_params: {},
    },
    {
      reason: "bad_token",
      retryable: true,
      detail: "token refused (bad_signature)",
      detail_code: "login_token_refused",
      detail_params: { why: "bad_signature" },
    },
    {
      reason: "registry_unavailable",
      retryable: true,
      detail: "the Registry is unreachable",
      detail_code: "login_registry_unreachable",
      detail_params: {},
    },
    {
      reason: "internal_error",
      retryable: true,
      detail: "Central failed; try again",
      detail_code: "login_central_failed",
      detail_params: {},
    },
  ]);
  assert.deepEqual(refusals.map((r) => noticeText(r, "es")), [
    "el token caducó: pida uno nuevo",
    "token rechazado (bad_signature)",
    "no se puede contactar con el Registry",
    "la Central falló; inténtelo de nuevo",
  ]);
});

Deno.test("monitor server: a token from before the CP's last key revocation is refused with its code", () => {
  const { model } = run(EMPTY_MODEL, cpLogin("CP-1", 1));
  const cp = cpOf(model);
  const revokedAt = new Date(T0 + 1000).toISOString();
  const revoked = {
    ...model,
    cps: new Map([[cp.id, { ...cp, securityInfo: { ...cp.securityInfo, revokedAt } }]]),
  };
  assert.equal(staleToken(revoked, "CP-1", new Date(T0 + 1001)), null, "fetched after it");
  assert.deepEqual(staleToken(revoked, "CP-1", new Date(T0 + 1000)), {
    reason: "bad_token",
    retryable: true,
    detail: "the token predates the last revocation of this CP's keys: get a fresh one",
    detail_code: "login_stale_token",
    detail_params: {},
  });
});
