/**
 * The Registry's HTTP contract (ARCHITECTURE §Registration): request and response schemas with their OpenAPI
 * names. Request bodies and queries are strict (an unknown field is a 400); response schemas
 * are not, so an older client keeps working when the server adds a field. Field rules (CP id,
 * location, price, power) come from `shared/messages.ts`, so every component agrees on them.
 *
 * @module
 */
import { z } from "@hono/zod-openapi";
import {
  cpIdSchema,
  locationSchema,
  powerKwSchema,
  priceEurKwhSchema,
  textSchema,
} from "../shared/messages.ts";
import { certificateProblem } from "./certificate.ts";
import { CP_STATUSES } from "./store.ts";

/** Price given to a CP registered without one, in €/kWh. */
export const DEFAULT_PRICE_EUR_KWH = 0.35;
/** Power given to a CP registered without one, in kW. */
export const DEFAULT_POWER_KW = 22;
/** Header that carries the admin key on management calls. */
export const ADMIN_KEY_HEADER = "X-Admin-Key";
/** Most CPs one `GET /cp` page returns. */
export const MAX_PAGE_SIZE = 100;

/** A CP id in a path (`/cp/{id}`). */
export const CpIdParams = z.strictObject({
  id: cpIdSchema.openapi({ param: { name: "id", in: "path" }, example: "CP-001" }),
});

const METADATA_KEY = /^[A-Za-z0-9_.-]{1,64}$/;

/** Free metadata: at most 32 entries, keys `[A-Za-z0-9_.-]{1,64}`, short scalar values. */
export const MetadataSchema = z.record(
  z.string().regex(METADATA_KEY, "metadata keys must be 1–64 of A–Z, a–z, 0–9, _, . or -"),
  z.union([textSchema(256, 0), z.number().finite(), z.boolean(), z.null()]),
).refine((m) => Object.keys(m).length <= 32, "metadata may have at most 32 entries")
  .openapi("Metadata", { example: { connector: "CCS2", operator: "acme" } });

/** `POST /cp/register` body. */
export const RegisterRequest = z.strictObject({
  cp_id: cpIdSchema,
  location: locationSchema,
  price_eur_kwh: priceEurKwhSchema.optional().openapi({
    description: `€/kWh; default ${DEFAULT_PRICE_EUR_KWH}`,
  }),
  power_kw: powerKwSchema.optional().openapi({ description: `kW; default ${DEFAULT_POWER_KW}` }),
  metadata: MetadataSchema.optional(),
  certificate_pem: z.string().superRefine((pem, ctx) => {
    const problem = certificateProblem(pem);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  }).optional().openapi({
    description: "the CP's own X.509 certificate, one PEM block; only its SHA-256 fingerprint " +
      "is kept (certificate_sha256), the PEM is never stored or echoed",
    example: "-----BEGIN CERTIFICATE-----\nMIIB…\n-----END CERTIFICATE-----",
  }),
}).openapi("RegisterRequest", {
  example: { cp_id: "CP-001", location: "Calle Mayor 1, Alicante", price_eur_kwh: 0.3 },
});

/** `PUT /cp/{id}` body: any of the changeable fields, at least one. */
export const UpdateRequest = z.strictObject({
  location: locationSchema.optional(),
  price_eur_kwh: priceEurKwhSchema.optional(),
  power_kw: powerKwSchema.optional(),
  metadata: MetadataSchema.optional(),
}).refine(
  (b) => Object.keys(b).length > 0,
  "give at least one of location, price_eur_kwh, power_kw, metadata",
)
  .openapi("UpdateRequest", { example: { price_eur_kwh: 0.42 } });

/** `POST /cp/authenticate` body. */
export const AuthenticateRequest = z.strictObject({
  cp_id: cpIdSchema,
  // Loose on purpose: any wrong credential, however shaped, gets the same 401.
  credentials: z.string().min(1).max(256),
  ecdh_public_key: z.strictObject({
    kty: z.literal("EC"),
    crv: z.literal("P-256"),
    x: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
    y: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  }).openapi({
    description: "the public half of the ECDH P-256 key the monitor will log in to Central " +
      "with (JWK); the token is bound to it (cnf.jkt, RFC 7800/7638)",
  }),
}).openapi("AuthenticateRequest");

/** `GET /cp` query. */
export const ListQuery = z.strictObject({
  status: z.enum(CP_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(20),
  offset: z.coerce.number().int().min(0).max(1_000_000_000).default(0),
});

/** A CP as every read returns it: no credential, no hash. */
export const Cp = z.object({
  cp_id: z.string(),
  location: z.string(),
  price_eur_kwh: z.number(),
  power_kw: z.number(),
  metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
  status: z.enum(CP_STATUSES),
  registered_at: z.string().openapi({ description: "start of the current registration" }),
  updated_at: z.string(),
  deregistered_at: z.string().nullable(),
  certificate_sha256: z.string().nullable().openapi({
    description: "SHA-256 fingerprint (colon-separated hex) of the certificate given at " +
      "registration, or null if none was",
  }),
}).openapi("Cp");

/** `POST /cp/register` answer: the CP and its credentials, shown this once. */
export const Registered = Cp.extend({
  credentials: z.string().openapi({
    description: "256-bit secret, base64url; shown only in this answer, store it on the CP",
  }),
}).openapi("Registered");

/** `POST /cp/authenticate` answer. */
export const TokenResponse = z.object({
  token: z.string().openapi({ description: "ES256 JWT; verify with /.well-known/jwks.json" }),
  expires_at: z.string(),
}).openapi("Token");

/** `GET /cp` answer. */
export const CpList = z.object({
  items: z.array(Cp),
  total: z.number().int(),
  limit: z.number().int(),
  offset: z.number().int(),
}).openapi("CpList");

/** `GET /` answer. */
export const Health = z.object({
  service: z.literal("registry"),
  status: z.literal("ok"),
  version: z.string(),
  time: z.string(),
}).openapi("Health");

/** `GET /.well-known/jwks.json` answer. */
export const JwksBody = z.object({
  keys: z.array(z.record(z.string(), z.unknown())),
}).openapi("Jwks");

/** Types of the bodies, for the client. */
export type CpJson = z.infer<typeof Cp>;
/** Registration answer. */
export type RegisteredJson = z.infer<typeof Registered>;
/** Token answer. */
export type TokenJson = z.infer<typeof TokenResponse>;
/** List answer. */
export type CpListJson = z.infer<typeof CpList>;
/** Registration request. */
export type RegisterInput = z.input<typeof RegisterRequest>;
/** Update request. */
export type UpdateInput = z.input<typeof UpdateRequest>;

/** Most changes one `GET /changes` answer holds. */
export const MAX_CHANGES_PAGE = 500;
/** Longest wait (seconds) a `GET /changes` may ask for. */
export const MAX_CHANGES_WAIT_SECONDS = 30;

/** `GET /changes` query. */
export const ChangesQuery = z.strictObject({
  after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0).openapi({
    description: "the last seq the reader has applied (0: from the start)",
  }),
  limit: z.coerce.number().int().min(1).max(MAX_CHANGES_PAGE).default(100),
  wait: z.coerce.number().int().min(0).max(MAX_CHANGES_WAIT_SECONDS).default(0).openapi({
    description: "seconds to hold the request while there is no change after `after`",
  }),
});

/** One change of the feed. */
export const Change = z.object({
  seq: z.number().int(),
  cp_id: z.string(),
  action: z.enum(["registered", "updated", "deregistered"]),
  at: z.string(),
  registered_at: z.string().nullable().openapi({
    description: "the registration the change belongs to (the one that ended, for deregistered)",
  }),
}).openapi("Change");

/** `GET /changes` answer. */
export const ChangesPage = z.object({
  changes: z.array(Change).openapi({ description: "in feed order, after `after`" }),
  last_seq: z.number().int().openapi({
    description: "the newest seq the Registry has; below `after` means its database was reset",
  }),
}).openapi("Changes");

/** One change of the feed. */
export type ChangeJson = z.infer<typeof Change>;
/** A `GET /changes` answer. */
export type ChangesPageJson = z.infer<typeof ChangesPage>;
