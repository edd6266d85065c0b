/**
 * The benchmark's reader of Central's dashboard event stream (`GET /events`): server-sent
 * events parsed as they come, each JSON event handed over with the moment it was read, and the
 * stream opened again when Central drops a reader that fell behind.
 *
 * @module
 */
import { sleep } from "../shared/sleep.ts";

/**
 * Reads Central's `GET /events` until `signal` aborts, calling `onEvent` for each event, and
 * reconnects when the stream breaks (Central drops a client that falls behind): resolves with
 * why it could not read at all (no such endpoint, …), or with how often it reconnected.
 */
export async function watchEvents(
  url: string,
  client: Deno.HttpClient | undefined,
  signal: AbortSignal,
  onEvent: (type: string, data: unknown, at: number) => void,
): Promise<{ readonly problem?: string; readonly reconnects: number }> {
  let reconnects = 0;
  for (;;) {
    const problem = await readEvents(url, client, signal, onEvent);
    if (signal.aborted) return { reconnects };
    if (problem.fatal) return { problem: problem.reason, reconnects };
    reconnects++;
    await sleep(500);
  }
}

/** One `GET /events` stream; fatal when the endpoint is not there at all. */
async function readEvents(
  url: string,
  client: Deno.HttpClient | undefined,
  signal: AbortSignal,
  onEvent: (type: string, data: unknown, at: number) => void,
): Promise<{ readonly fatal: boolean; readonly reason: string }> {
  let res: Response;
  try {
    res = await fetch(`${url}/events`, {
      client,
      signal,
      headers: { accept: "text/event-stream" },
    });
  } catch (error) {
    return { fatal: true, reason: `GET /events failed: ${(error as Error).message}` };
  }
  if (!res.ok || !res.headers.get("content-type")?.includes("text/event-stream")) {
    await res.body?.cancel();
    const type = res.headers.get("content-type") ?? "";
    return { fatal: true, reason: `GET /events answered ${res.status} ${type}`.trim() };
  }
  let buffer = "";
  try {
    for await (const chunk of res.body!.pipeThrough(new TextDecoderStream())) {
      const at = Date.now();
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let type = "message";
        const data: string[] = [];
        for (const line of frame.split("\n")) {
          if (line.startsWith("event:")) type = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
        if (data.length === 0) continue;
        try {
          onEvent(type, JSON.parse(data.join("\n")), at);
        } catch {
          // Not JSON: not an event this benchmark times.
        }
      }
    }
  } catch (error) {
    return { fatal: false, reason: (error as Error).message };
  }
  return { fatal: false, reason: "the stream ended" };
}
