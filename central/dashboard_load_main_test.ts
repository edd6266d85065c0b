/**
 * The dashboard load harness as a process, over real sockets: it says `steady` with its URL
 * once every CP is logged in, serves `/cps` and `/snapshot` from Central's own app, streams the
 * simulated CPs' sessions on `GET /events?batch=1`, and stops cleanly at SIGTERM.
 */
import assert from "node:assert/strict";
import { SseFrames } from "../fleet/stream_figures.ts";

Deno.test({
  name: "dashboard load harness: steady, its CPs in /cps, their sessions on the event stream",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("./dashboard_load_main.ts", import.meta.url).pathname,
        "--cps",
        "20",
        "--ramp",
        "100",
        "--settle",
        "1ms",
        "--duration",
        "2m",
      ],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    try {
      const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let said = "";
      let url: string | undefined;
      while (url === undefined) {
        const { value, done } = await lines.read();
        assert.ok(!done, `ended before steady: ${said}`);
        said += value;
        url = said.match(/^steady (\S+)$/m)?.[1];
      }
      assert.match(said, /^ready http:\/\/127\.0\.0\.1:\d+$/m);
      await lines.cancel();

      const cps = await (await fetch(`${url}/cps`)).json() as { id: string; state: string }[];
      assert.equal(cps.length, 20);
      assert.ok(cps.every((cp) => cp.state === "ACTIVATED" || cp.state === "SUPPLYING"));
      const snapshot = await (await fetch(`${url}/snapshot`)).json() as { cps: unknown[] };
      assert.equal(snapshot.cps.length, 20);

      // Sessions end every 2 s (2 simulated minutes at 60×): a ticket comes on the stream.
      const res = await fetch(`${url}/events?batch=1`);
      const cutter = new SseFrames();
      const seen = new Set<string>();
      const decoder = new TextDecoder();
      for await (const chunk of res.body!) {
        for (const frame of cutter.push(decoder.decode(chunk))) {
          if (frame.event !== "batch") continue;
          for (const item of JSON.parse(frame.data) as { type: string }[]) seen.add(item.type);
        }
        if (seen.has("ticket") && seen.has("telemetry")) break;
      }
      await res.body?.cancel().catch(() => {});
      assert.ok(seen.has("ticket") && seen.has("telemetry"), [...seen].join());
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal((await child.status).code, 0);
  },
});
