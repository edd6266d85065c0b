/**
 * Command line and environment of `registry/main.ts` (declared with `shared/config.ts`).
 *
 * @module
 */
import {
  defineConfig,
  duration,
  logLevelOption,
  option,
  type Parser,
  portOrZero,
  secret,
  text,
} from "../shared/config.ts";
import { SERVER_CERT_FILE, SERVER_KEY_FILE } from "../shared/tls.ts";
import { DEFAULT_TOKEN_TTL_MS, MAX_TOKEN_TTL_MS } from "./tokens.ts";

/** Default database path. */
export const DEFAULT_DB = "data/registry.db";
/** Shortest admin key accepted from the environment. */
export const MIN_ADMIN_KEY_CHARS = 16;

/** A token lifetime: a duration from 1 s to 15 min. */
export const tokenTtl: Parser<number> = (raw) => {
  const ms = duration(raw);
  if (ms < 1000 || ms > MAX_TOKEN_TTL_MS) throw new Error("a duration from 1s to 15m, e.g. 10m");
  return ms;
};

/** An admin key: at least {@link MIN_ADMIN_KEY_CHARS} characters, no spaces around it. */
export const adminKey: Parser<string> = secret(MIN_ADMIN_KEY_CHARS);

/** The Registry's options. */
export const registryConfig = defineConfig({
  name: "registry",
  summary: "Registers charging points and issues their credentials and tokens, over HTTPS.",
  options: {
    port: option(portOrZero, {
      flag: "port",
      env: "REGISTRY_PORT",
      default: 8443,
      help: "HTTPS port (0: any free port)",
    }),
    host: option(text, {
      flag: "host",
      env: "REGISTRY_HOST",
      default: "0.0.0.0",
      help: "Address to listen on",
    }),
    db: option(text, {
      flag: "db",
      env: "REGISTRY_DB",
      default: DEFAULT_DB,
      help: "SQLite database file",
    }),
    tokenTtlMs: option(tokenTtl, {
      flag: "token-ttl",
      env: "REGISTRY_TOKEN_TTL",
      default: DEFAULT_TOKEN_TTL_MS,
      help: "Token lifetime, at most 15m (e.g. 10m, 300s)",
    }),
    cert: option(text, {
      flag: "cert",
      env: "REGISTRY_TLS_CERT",
      default: SERVER_CERT_FILE,
      help: "Server certificate (PEM), from `deno task certs`",
    }),
    key: option(text, {
      flag: "key",
      env: "REGISTRY_TLS_KEY",
      default: SERVER_KEY_FILE,
      help: "Server certificate's private key (PEM)",
    }),
    adminKey: option(adminKey, {
      flag: "admin-key",
      env: "REGISTRY_ADMIN_KEY",
      optional: true,
      secret: true,
      help: "Admin key (prefer the env variable; unset: generated once into the data folder)",
    }),
    feedKey: option(adminKey, {
      flag: "feed-key",
      env: "REGISTRY_FEED_KEY",
      optional: true,
      secret: true,
      help: "Key Central reads the change feed with (unset: generated once into " +
        "registry_feed.key in the data folder)",
    }),
    logLevel: logLevelOption("info", "Lowest log level written"),
  },
});
