/**
 * Operator alarms on a real Central (real Kafka broker, Registry over TLS, a monitor logged in
 * over the framed protocol): when the monitor's connection drops, `GET /alarms?open=1` lists a
 * `cp_disconnected` alarm and the dashboard's stream carries it as an `alarm` event; when the
 * CP logs in again the alarm clears (event and list), and `GET /summary` counts it meanwhile.
 */
// First: registry/schemas.ts needs @hono/zod-openapi loaded before shared/messages.ts.
import {
  authenticateBound,
  MonitorStub,
  SseClient,
  waitFor,
  withTestCentral,
} from "../central/test_support.ts";
import assert from "node:assert/strict";
import { uniqueName } from "./kafka_env.ts";

interface Alarm {
  id: number;
  cp_id: string;
  kind: string;
  began_at: string;
  cleared_at: string | null;
}

Deno.test("alarms: a dropped monitor opens a cp_disconnected alarm, a new login clears it", async () => {
  await withTestCentral("alarms_", {
    group: uniqueName("alarms"),
  }, async ({ registry, central }) => {
    const stream = new SseClient(central.httpUrl);
    const alarms = () => stream.data<Alarm>("alarm");
    const get = async (path: string) => await (await fetch(`${central.httpUrl}${path}`)).json();
    try {
      const cpId = uniqueName("CP-AL");
      const { credentials } = await registry.client.register({ cp_id: cpId, location: "Madrid" });
      const token = () => authenticateBound(registry.client, cpId, credentials);
      const monitor = await MonitorStub.connect(central.tcpAddr, registry.caCert);
      assert.equal((await monitor.login(cpId, await token())).answer?.type, "AUTH_OK");
      await monitor.close();

      const ours = (a: Alarm) => a.cp_id === cpId && a.kind === "cp_disconnected";
      await waitFor("the alarm event", () => alarms().some(ours));
      const opened = alarms().find(ours)!;
      assert.equal(opened.cleared_at, null);
      const open = await get("/alarms?open=1");
      assert.deepEqual(open.items.filter(ours), [opened]);
      assert.ok((await get("/summary")).alarms_open >= 1);

      const again = await MonitorStub.connect(central.tcpAddr, registry.caCert);
      assert.equal((await again.login(cpId, await token())).answer?.type, "AUTH_OK");
      again.keepAlive(300);
      const cleared = (a: Alarm) => ours(a) && a.id === opened.id && a.cleared_at !== null;
      await waitFor("the clearing event", () => alarms().some(cleared));
      assert.ok(
        Date.parse(alarms().find(cleared)!.cleared_at!) >= Date.parse(opened.began_at),
      );
      assert.deepEqual((await get("/alarms?open=1")).items.filter(ours), []);
      assert.ok((await get("/alarms")).items.some(cleared), "kept among the cleared");
      await again.close();
    } finally {
      await stream.close();
    }
  });
});
