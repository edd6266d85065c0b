/**
 * The CP monitor's side of the Registry before each login (ARCHITECTURE §Registration): the
 * stored credentials, or a registration with the admin key on first start (kept in a 0600 file),
 * and what a Registry failure means for the retry policy of `monitor_core.ts`.
 *
 * @module
 */
import {
  type RegistryClient,
  RegistryError,
  RegistryUnavailableError,
} from "../registry/client.ts";
import {
  CredentialsFileError,
  readCredentials,
  writeCredentials,
} from "../shared/cp_credentials.ts";
import type { LoginEnding, RegistryFailure } from "./monitor_core.ts";
import { type CpWords, sayWords, words } from "./words.ts";

/** The location registered when `--location` is not given (the Registry requires one). */
const UNKNOWN_LOCATION = "unknown";

/** What {@link loadOrRegister} needs. */
export interface Registration {
  readonly cpId: string;
  readonly registry: RegistryClient;
  readonly credentialsFile: string;
  readonly registryAdminKey?: string;
  readonly location?: string;
  readonly priceEurKwh?: number;
  readonly powerKw?: number;
  /** Set while a `register` got no answer: a 409 next may be that very registration. */
  readonly uncertain: { uncertain: boolean };
  /** Tells the operator what happened. */
  readonly event: (said: CpWords, level?: "info" | "warning") => void;
}

/** No credentials, and no admin key to register the CP with: only its operator can fix that. */
export class NoAdminKeyError extends CredentialsFileError {
  override name = "NoAdminKeyError";
  /** What the operator reads, in their language. */
  readonly words: CpWords;

  /** The error for the CP `cpId` whose credentials are not in `file`. */
  constructor(file: string, cpId: string) {
    const said = words("noAdminKey", { file, cp: cpId });
    super(sayWords("en", said));
    this.words = said;
  }
}

/**
 * The stored credentials, or registers the CP (first start, or after a deregistration) and
 * stores them.
 * @throws {CredentialsFileError} without credentials and without an admin key.
 * @throws {RegistryError | RegistryUnavailableError} when the Registry refuses or fails.
 */
export async function loadOrRegister(r: Registration): Promise<string> {
  const { cpId, registry, credentialsFile } = r;
  const stored = await readCredentials(credentialsFile, cpId);
  if (stored) return stored.credentials;
  if (r.registryAdminKey === undefined) throw new NoAdminKeyError(credentialsFile, cpId);
  const request = {
    cp_id: cpId,
    location: r.location ?? UNKNOWN_LOCATION,
    ...(r.priceEurKwh !== undefined ? { price_eur_kwh: r.priceEurKwh } : {}),
    ...(r.powerKw !== undefined ? { power_kw: r.powerKw } : {}),
  };
  let registered;
  try {
    registered = await registry.register(request);
  } catch (error) {
    const lostAnswer = error instanceof RegistryError && error.status === 409 &&
      r.uncertain.uncertain;
    if (!lostAnswer) {
      // No answer at all: the Registry may have stored the CP and lost only the reply.
      if (error instanceof RegistryUnavailableError) r.uncertain.uncertain = true;
      throw error;
    }
    // Our own earlier registration went through but its answer, the credentials shown once,
    // never arrived: nobody holds them, so start the id over rather than give up for good.
    r.event(words("registrationLost", { cp: cpId }), "warning");
    await registry.deregister(cpId);
    registered = await registry.register(request);
  }
  r.uncertain.uncertain = false;
  await writeCredentials(credentialsFile, {
    cp_id: cpId,
    credentials: registered.credentials,
    registry_url: registry.url,
    registered_at: registered.registered_at,
  });
  r.event(words("registeredKept", { file: credentialsFile }));
  return registered.credentials;
}

/** A failure while registering or authenticating, as the core sees it. */
export function registryEnding(
  call: "register" | "authenticate",
  error: unknown,
  credentialsFile: string,
): LoginEnding {
  if (error instanceof NoAdminKeyError) return { kind: "fatal", message: error.words };
  if (error instanceof CredentialsFileError) return { kind: "fatal", message: error.message };
  const failure: RegistryFailure = error instanceof RegistryError
    ? error
    : { status: 0, code: "error", detail: (error as Error)?.message ?? String(error) };
  return { kind: "registry_error", call, failure, credentialsFile };
}
