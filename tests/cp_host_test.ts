/**
 * The CP host as an attacker on the same machine sees it: a real engine process
 * (`cp/engine_main.ts`), strangers on its loopback port, the real monitor's opening from the secret
 * file the engine wrote, and Central's commands replayed on a real broker across an engine
 * restart. Run with `deno task test tests/cp_host_test.ts` (it starts Kafka).
 */
// First: registry/schemas.ts needs @hono/zod-openapi loaded before shared/messages.ts.
import { waitFor } from "../cp/test_support.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  EngineLinkError,
  LinkKey,
  newLinkSecret,
  openEngineLink,
  readLinkSecret,
} from "../cp/engine_link.ts";
import { encodeBase64 } from "../shared/encoding.ts";
import { importCpKey } from "../shared/cp_key.ts";
import { sealEnvelope } from "../shared/envelope.ts";
import { FramedConn, FramedConnError } from "../shared/framed_conn.ts";
import { createKafka, createProducer, ensureTopics, TOPICS } from "../shared/kafka.ts";
import { build, commandPayloadSchema, monitorToEngineSchema } from "../shared/messages.ts";
import { testBrokers, uniqueName } from "./kafka_env.ts";
import { readChildLines } from "./network_test_support.ts";

const modeOf = async (path: string) => (await Deno.stat(path)).mode! & 0o777;

/** `cp/engine_main.ts` as a child process on a free port, its JSON log messages gathered. */
async function spawnEngine(dir: string, cpId: string) {
  const portFile = join(dir, `port-${crypto.randomUUID()}`);
  const stateDir = join(dir, "state");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      join(import.meta.dirname!, "..", "cp", "engine_main.ts"),
      testBrokers().join(","),
      "0",
      "--port-file",
      portFile,
      "--cp-id",
      cpId,
      "--state-dir",
      stateDir,
      "--headless",
      "--log-format",
      "json",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const messages: string[] = [];
  const output = readChildLines(child, (line) => {
    try {
      messages.push(JSON.parse(line).message);
    } catch {
      messages.push(line);
    }
  });
  let port: number | undefined;
  await waitFor(() => {
    try {
      port = Number(Deno.readTextFileSync(portFile));
      return port > 0;
    } catch {
      return false;
    }
  }, "the engine's port file");
  const secretFile = join(stateDir, `engine-${port}.secret`);
  return {
    port: port!,
    stateDir,
    secretFile,
    messages,
    /** SIGTERM (a clean stop), then waits for the process and its output. */
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await output;
    },
  };
}

/** Opens the framed connection only, as any local process can. */
async function openRaw(port: number): Promise<FramedConn> {
  return await FramedConn.client(await Deno.connect({ hostname: "127.0.0.1", port }));
}

/** Opens the link as the real monitor does, with the secret from the engine's file. */
async function openAsMonitor(port: number, secretFile: string): Promise<FramedConn> {
  const conn = await openRaw(port);
  await openEngineLink(conn, await LinkKey.of(await readLinkSecret({ file: secretFile })));
  return conn;
}

/** Resolves when the peer ends the connection, whatever frames it sent before. */
async function ended(conn: FramedConn): Promise<void> {
  try {
    for await (const _ of conn) { /* the challenge, nothing else */ }
  } catch { /* dropped */ }
}

const testOptions = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  ...testOptions,
  name:
    "CP host: a stranger on the engine's loopback port can neither hand it a key nor revoke one",
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "cp_host_" });
    const cpId = uniqueName("CP-HOST");
    const engine = await spawnEngine(dir, cpId);
    let secret: string;
    try {
      await waitFor(() => Deno.statSync(engine.secretFile).isFile, "the secret file");
      assert.equal(await modeOf(engine.secretFile), 0o600, "the secret file is 0600");
      assert.equal(await modeOf(engine.stateDir), 0o700, "in a 0700 folder");

      // A KEY straight after the opening, without the proof: dropped, never installed.
      const blunt = await openRaw(engine.port);
      const key = encodeBase64(crypto.getRandomValues(new Uint8Array(32)));
      await blunt.send(build(monitorToEngineSchema, "KEY", { cpId: "CP-EVIL", keyVersion: 9, key }))
        .catch(() => {});
      await ended(blunt);
      await waitFor(
        () => engine.messages.some((m) => m.includes("the first frame was not LINK_PROOF")),
        "the engine to refuse the KEY without a proof",
      );

      // A proof made with another secret: refused, and the stranger learns it gets nothing.
      const guesser = await openRaw(engine.port);
      await assert.rejects(
        openEngineLink(guesser, await LinkKey.of(newLinkSecret())),
        (e) => e instanceof EngineLinkError || e instanceof FramedConnError,
      );
      await waitFor(
        () => engine.messages.some((m) => m.includes("wrong LINK_PROOF")),
        "the engine to refuse a wrong proof",
      );

      // Strangers holding openings they never prove do not lock the real monitor out.
      const squatters = await Promise.all(Array.from({ length: 12 }, () => openRaw(engine.port)));
      const monitor = await openAsMonitor(engine.port, engine.secretFile);
      await monitor.send(build(monitorToEngineSchema, "KEY", { cpId, keyVersion: 3, key }))
        .catch(() => {});
      await waitFor(
        () => engine.messages.some((m) => m === "key version 3 installed"),
        "the real monitor's key",
      );

      // While the real monitor is connected, a stranger is refused at the opening.
      await assert.rejects(
        openRaw(engine.port),
        (e) => e instanceof FramedConnError && e.code === "refused",
      );
      await waitFor(
        () => engine.messages.some((m) => m.includes("refused a second monitor")),
        "the refusal",
      );
      await Promise.all(squatters.map((s) => s.close()));
      await monitor.close();
      secret = encodeBase64(await readLinkSecret({ file: engine.secretFile }));
    } finally {
      await engine.stop();
      await Deno.remove(dir, { recursive: true });
    }
    // Once its output has ended, so that no line still on its way escapes these checks.
    assert.ok(!engine.messages.some((m) => m.includes(secret)), "the secret is never logged");
    assert.ok(
      !engine.messages.some((m) => /key version 9|CP-EVIL|revoked/.test(m)),
      "no stranger's key was installed and nothing was revoked",
    );
  },
});

Deno.test({
  ...testOptions,
  name: "CP host: a command replayed after an engine restart is refused (replay marks on disk)",
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "cp_host_" });
    const cpId = uniqueName("CP-REPLAY");
    const kafka = createKafka({ brokers: testBrokers(), clientId: "test-replay" });
    await ensureTopics(kafka, [TOPICS.cpCommands, TOPICS.cpTelemetry]);
    const producer = await createProducer(kafka);
    const base64 = encodeBase64(crypto.getRandomValues(new Uint8Array(32)));
    const cpKey = await importCpKey(base64);
    const keyFrame = build(monitorToEngineSchema, "KEY", { cpId, keyVersion: 1, key: base64 });
    const header = { cp: cpId, kv: 1, channel: TOPICS.cpCommands };
    // Captured off Kafka by an attacker: the same bytes, produced again later.
    const stop = await sealEnvelope(
      cpKey,
      { ...header, seq: 0 },
      build(commandPayloadSchema, "STOP", { reason: "admin" }),
    );
    const resume = await sealEnvelope(
      cpKey,
      { ...header, seq: 1 },
      build(commandPayloadSchema, "RESUME", {}),
    );
    try {
      const first = await spawnEngine(dir, cpId);
      try {
        const monitor = await openAsMonitor(first.port, first.secretFile);
        await monitor.send(keyFrame);
        await waitFor(() => first.messages.includes("reading cp.commands"), "the consumer");
        await producer.send(TOPICS.cpCommands, cpId, stop);
        await producer.send(TOPICS.cpCommands, cpId, resume);
        await waitFor(
          () => first.messages.includes(`command "RESUME" from Central`),
          "both commands taken",
        );
        await monitor.close();
      } finally {
        await first.stop();
      }
      const marksFile = join(first.stateDir, `${cpId}.replay.json`);
      assert.equal(await modeOf(marksFile), 0o600, "the marks file is 0600");
      await assert.rejects(Deno.stat(first.secretFile), Deno.errors.NotFound, "secret removed");

      const second = await spawnEngine(dir, cpId);
      try {
        await waitFor(
          () => second.messages.some((m) => /^loaded 1 replay marks/.test(m)),
          "the marks loaded at start",
        );
        const monitor = await openAsMonitor(second.port, second.secretFile);
        await monitor.send(keyFrame); // the monitor hands a restarted engine its key again
        await waitFor(() => second.messages.includes("reading cp.commands"), "the consumer");
        await producer.send(TOPICS.cpCommands, cpId, stop);
        await waitFor(
          () =>
            second.messages.some((m) =>
              /^dropped a command that does not open \("replay"\)/.test(m)
            ),
          "the replayed STOP refused",
        );
        // A fresh command (next seq) is still taken: the marks refuse only what was seen.
        await producer.send(
          TOPICS.cpCommands,
          cpId,
          await sealEnvelope(
            cpKey,
            { ...header, seq: 2 },
            build(commandPayloadSchema, "STOP", {
              reason: "weather",
            }),
          ),
        );
        await waitFor(
          () => second.messages.includes(`command "STOP weather" from Central`),
          "the fresh command",
        );
        assert.ok(
          !second.messages.includes(`command "STOP admin" from Central`),
          "the replayed STOP never reached the engine's core",
        );
        await monitor.close();
      } finally {
        await second.stop();
      }
    } finally {
      await producer.disconnect();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
