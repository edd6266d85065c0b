/**
 * Admin mode: the admin token lives in this tab's `sessionStorage` only (gone when the tab
 * closes, never in a URL or a cookie) and is sent as `Authorization: Bearer` on Central's POST
 * calls and its one admin read (`GET /local/cps`). Central checks it; a refused token leaves
 * admin mode.
 *
 * @module
 */
import { signal } from "@preact/signals";
import { answerDetail, ct } from "./show.ts";

const KEY = "evcharging.adminToken";

/** The admin token, or null outside admin mode. */
export const adminToken = signal<string | null>(sessionStorage.getItem(KEY));
/** The last admin call's outcome, for the toast. */
export const notice = signal<{ ok: boolean; text: string } | null>(null);

/** Enters (a token) or leaves (null) admin mode. */
export function setAdminToken(token: string | null): void {
  if (token === null || token.trim() === "") sessionStorage.removeItem(KEY);
  else sessionStorage.setItem(KEY, token.trim());
  adminToken.value = sessionStorage.getItem(KEY);
}

/** Central's answer to an admin call. */
export interface AdminAnswer {
  readonly ok: boolean;
  readonly status: number;
  readonly body: Record<string, unknown> | undefined;
}

/** `method path` with the admin token (status 0: Central is unreachable). */
async function adminCall(
  method: "GET" | "POST",
  path: string,
  body?: unknown,
): Promise<AdminAnswer> {
  const token = adminToken.value;
  if (token === null) return { ok: false, status: 401, body: undefined };
  let answer: AdminAnswer;
  try {
    const res = await fetch(path, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: method === "GET" ? undefined : JSON.stringify(body ?? {}),
    });
    const text = await res.text();
    let parsed: Record<string, unknown> | undefined;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    answer = { ok: res.ok, status: res.status, body: parsed };
  } catch {
    answer = { ok: false, status: 0, body: undefined };
  }
  if (answer.status === 401) setAdminToken(null);
  return answer;
}

/** `GET path` with the admin token (a refused token leaves admin mode). */
export function adminGet(path: string): Promise<AdminAnswer> {
  return adminCall("GET", path);
}

/** `POST path` with the admin token; reports the outcome in {@link notice} as `what`. */
export async function adminPost(path: string, what: string, body?: unknown): Promise<AdminAnswer> {
  const answer = await adminCall("POST", path, body);
  const why = answerDetail(answer.body);
  const detail = why === undefined ? "" : `: ${why}`;
  notice.value = answer.ok
    ? { ok: true, text: ct("callDone", { what }) }
    : answer.status === 0
    ? { ok: false, text: ct("callUnreachable", { what }) }
    : answer.status === 401
    ? { ok: false, text: ct("tokenRefused") }
    : { ok: false, text: ct("callFailed", { what, status: answer.status, detail }) };
  return answer;
}
