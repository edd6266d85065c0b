import assert from "node:assert/strict";
import { join } from "node:path";
import type { RegistryClient } from "../registry/client.ts";
import { RegistryError } from "../registry/client.ts";
import { CredentialsFileError, writeCredentials } from "../shared/cp_credentials.ts";
import { loadOrRegister, registryEnding } from "./monitor_registration.ts";
import { sayWords } from "./words.ts";
import { withTempDir } from "../shared/temp_dir.ts";

/** A Registry that must not be asked (the credentials are at hand, or no key to ask with). */
const untouched = new Proxy({}, {
  get: (_, name) => () => assert.fail(`the Registry was asked: ${String(name)}`),
}) as RegistryClient;

Deno.test("monitor registration: stored credentials are used without asking the Registry", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "CP-1.credentials");
    await writeCredentials(file, {
      cp_id: "CP-1",
      credentials: "c".repeat(43),
      registry_url: "https://registry.test",
      registered_at: "2026-12-06T00:00:00.000Z",
    });
    const got = await loadOrRegister({
      cpId: "CP-1",
      registry: untouched,
      credentialsFile: file,
      uncertain: { uncertain: false },
      event: () => {},
    });
    assert.equal(got, "c".repeat(43));
  });
});

Deno.test("monitor registration: no credentials and no admin key is a fatal ending that says what to set", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "CP-1.credentials");
    const error = await loadOrRegister({
      cpId: "CP-1",
      registry: untouched,
      credentialsFile: file,
      uncertain: { uncertain: false },
      event: () => {},
    }).then(() => undefined, (e) => e);
    assert.ok(error instanceof CredentialsFileError);
    const ending = registryEnding("register", error, file);
    assert.equal(ending.kind, "fatal");
    assert.match(
      ending.kind === "fatal" ? sayWords("en", ending.message) : "",
      /REGISTRY_ADMIN_KEY/,
    );
  });
});

Deno.test("monitor registration: a Registry refusal keeps its status; anything else is unreachable", () => {
  const refused = registryEnding(
    "authenticate",
    new RegistryError(403, "cp_deregistered", "CP CP-1 is deregistered"),
    "f",
  );
  assert.ok(refused.kind === "registry_error");
  assert.deepEqual([refused.failure.status, refused.failure.code], [403, "cp_deregistered"]);
  const lost = registryEnding("authenticate", new Error("socket closed"), "f");
  assert.ok(lost.kind === "registry_error");
  assert.deepEqual([lost.failure.status, lost.failure.detail], [0, "socket closed"]);
});
