/**
 * Test fixtures for the CP tests: a real Registry over HTTPS with a throwaway development CA in
 * a temporary folder, and a wait for a condition. Not used by the CP processes themselves.
 *
 * @module
 */

import { join } from "node:path";
import { createDevCertificates, writeDevCertificates } from "../infra/dev_ca.ts";
import { type RunningRegistry, startRegistryServer } from "../registry/server.ts";
import { loadTlsFiles } from "../shared/tls.ts";
import type { ConcurrencyLimiter } from "../shared/limiter.ts";

/** A Registry for one test, and where its files are. */
export interface TestRegistry {
  /** The temporary folder holding the certificates and the Registry's data. */
  readonly dir: string;
  /** The running Registry (its admin key is in `registry.adminKey.key`). */
  readonly registry: RunningRegistry;
  /** `https://localhost:<port>`. */
  readonly url: string;
  /** The CA file clients must trust. */
  readonly caFile: string;
  /** Stops the Registry and removes the folder. */
  close(): Promise<void>;
}

/**
 * Starts a Registry on a free port with a fresh CA and a cheap scrypt (tests only); `hashQueue`
 * replaces its hashing queue (a test that holds it full).
 */
export async function startTestRegistry(
  options: { hashQueue?: ConcurrencyLimiter } = {},
): Promise<TestRegistry> {
  const dir = await Deno.makeTempDir({ prefix: "cp_test_" });
  await writeDevCertificates(join(dir, "certs"), await createDevCertificates());
  const registry = await startRegistryServer({
    port: 0,
    hostname: "127.0.0.1",
    tls: await loadTlsFiles({
      certFile: join(dir, "certs", "server.pem"),
      keyFile: join(dir, "certs", "server.key"),
    }),
    dbPath: join(dir, "registry", "registry.db"),
    scrypt: { N: 1024, r: 8, p: 1 },
    hashQueue: options.hashQueue,
  });
  return {
    dir,
    registry,
    url: `https://localhost:${registry.addr.port}`,
    caFile: join(dir, "certs", "ca.pem"),
    close: async () => {
      await registry.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Polls `done` every 20 ms until it holds; fails naming `what` after `ms`. */
export async function waitFor(done: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
