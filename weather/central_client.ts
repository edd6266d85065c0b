/**
 * The office's side of its contract with Central (ARCHITECTURE §Processes and ports, §Admin and service auth):
 *
 * - `POST {central}/weather/alert` with `Authorization: Bearer <service key>` and the JSON body
 *   `{cp_id, city, temperature, status: "alert" | "clear"}`. Central answers 2xx when it took
 *   the status (sending the same status again is harmless), 404 for a CP it does not know,
 *   401/403 for a wrong service key, 400 for a body it refuses.
 * - `GET {central}/cps` (open, no key) to learn which CPs Central knows and where they are: a
 *   JSON array of CPs as Central's `GET /cps` answers them (`[{id, location, state, …}]`, the
 *   location from the Registry).
 *
 * One call is one attempt: retrying, backing off and re-sending are the core's decisions
 * (`core.ts`). Central runs plain HTTP locally; an https URL is trusted through the project CA.
 *
 * @module
 */
import { z } from "zod";
import { cpIdSchema } from "../shared/messages.ts";
import { httpsClient } from "../shared/tls.ts";
import type { CentralProbe, DeliveryOutcome, WeatherAlertBody } from "./core.ts";
import { describeFetchError, oneLine, parseJsonOrUndefined, readLimited } from "./http_util.ts";
import { citySchema } from "./locations.ts";

/** Path of the alert endpoint on Central. */
export const ALERT_PATH = "/weather/alert";
/** Path of Central's CP list. */
export const CPS_PATH = "/cps";
/** Largest answer read from Central (its CP list included). */
export const MAX_CENTRAL_BODY_BYTES = 4 * 1024 * 1024;

/** Settings of {@link CentralClient.create}. */
export interface CentralClientOptions {
  /** Central's base URL without a trailing slash, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** Sent as `Authorization: Bearer …` on alerts. */
  readonly serviceKey: string;
  /** Longest wait for one whole answer, in ms. */
  readonly timeoutMs: number;
  /** CA file for an https URL (default: `EV_CA_FILE` or `certs/ca.pem`). */
  readonly caFile?: string;
}

// The location is read apart: one CP with an odd location must not cost the whole list.
const cpListSchema = z.array(z.object({ id: z.string(), location: z.unknown().optional() }));
const errorBodySchema = z.object({ detail: z.string() });

/** Talks to Central. */
export class CentralClient {
  readonly #options: CentralClientOptions;
  readonly #client: Deno.HttpClient | undefined;

  private constructor(options: CentralClientOptions, client: Deno.HttpClient | undefined) {
    this.#options = options;
    this.#client = client;
  }

  /**
   * A client for `options.url`; for https it trusts the project CA.
   * @throws {TlsFileError} if the URL is https and the CA file is missing.
   */
  static async create(options: CentralClientOptions): Promise<CentralClient> {
    const tls = new URL(options.url).protocol === "https:";
    return new CentralClient(options, tls ? await httpsClient(options.caFile) : undefined);
  }

  /** Sends one alert or clear; the outcome says how Central answered. Never throws. */
  async sendAlert(body: WeatherAlertBody, signal?: AbortSignal): Promise<DeliveryOutcome> {
    const answer = await this.#call(ALERT_PATH, {
      method: "POST",
      headers: {
        authorization: `Bearer ${this.#options.serviceKey}`,
        "content-type": "application/json",
      },
      body: JSON.stringify(body),
    }, signal);
    if (!answer.ok) return { kind: "unavailable", detail: answer.detail };
    const { status, text } = answer;
    if (status >= 200 && status < 300) return { kind: "delivered" };
    const said = errorBodySchema.safeParse(parseJsonOrUndefined(text));
    const detail = `Central answered ${status}${
      said.success ? `: ${oneLine(said.data.detail)}` : ""
    }`;
    if (status === 404) return { kind: "unknown_cp", detail };
    if (status === 401 || status === 403) return { kind: "unauthorized", detail };
    if (status === 408 || status === 429 || status >= 500) return { kind: "unavailable", detail };
    return { kind: "rejected", detail };
  }

  /** Asks Central which CPs it knows, and in which city. Never throws. */
  async listCps(signal?: AbortSignal): Promise<CentralProbe> {
    const answer = await this.#call(CPS_PATH, { method: "GET" }, signal);
    if (!answer.ok) return { kind: "unreachable", detail: answer.detail };
    // Any answer, even a 5xx, means Central is there: whether it takes alerts is for the POSTs
    // to find out, so a broken list endpoint never holds a weather stop back.
    if (answer.status !== 200) return { kind: "answered" };
    const parsed = cpListSchema.safeParse(parseJsonOrUndefined(answer.text));
    if (!parsed.success) return { kind: "answered" };
    const locations = new Map<string, string>();
    for (const { id, location } of parsed.data) {
      const city = citySchema.safeParse(location);
      if (cpIdSchema.safeParse(id).success && city.success) locations.set(id, city.data);
    }
    return { kind: "listed", cpIds: new Set(parsed.data.map((e) => e.id)), locations };
  }

  /** Releases the TLS client, if any. */
  close(): void {
    this.#client?.close();
  }

  async #call(
    path: string,
    init: RequestInit,
    signal: AbortSignal | undefined,
  ): Promise<{ ok: true; status: number; text: string } | { ok: false; detail: string }> {
    const timeout = AbortSignal.timeout(this.#options.timeoutMs);
    try {
      const response = await fetch(`${this.#options.url}${path}`, {
        ...init,
        redirect: "manual", // the service key is for Central only, not wherever it points
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        client: this.#client,
      });
      const text = await readLimited(response, MAX_CENTRAL_BODY_BYTES);
      return { ok: true, status: response.status, text };
    } catch (error) {
      if (timeout.aborted) {
        return { ok: false, detail: `no answer within ${this.#options.timeoutMs} ms` };
      }
      return { ok: false, detail: oneLine(describeFetchError(error)) };
    }
  }
}
