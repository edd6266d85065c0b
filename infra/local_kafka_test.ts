import assert from "node:assert/strict";
import {
  checkJava,
  checkMaven,
  ensureKafkaJars,
  jarCacheDir,
  jvmTuningFlags,
  kafkaVersion,
  newClusterId,
  renderServerProperties,
  startLocalKafka,
  type ToolProbe,
  type ToolResult,
} from "./local_kafka.ts";
import { kafkaConfig } from "./kafka.ts";
import { parseConfig } from "../shared/config.ts";
import { withTempDir } from "../shared/temp_dir.ts";

/** A probe that answers from a table; a missing entry means "not installed". */
function fakeProbe(tools: Record<string, ToolResult>): ToolProbe & { calls: string[] } {
  const calls: string[] = [];
  const probe = (cmd: string) => {
    calls.push(cmd);
    return Promise.resolve(tools[cmd] ?? null);
  };
  return Object.assign(probe, { calls });
}

const JAVA_17 = { code: 0, output: 'openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime' };
const MVN = { code: 0, output: "Apache Maven 3.8.7" };

function parseProperties(text: string): Map<string, string> {
  const lines = text.split("\n").filter((l) => l && !l.startsWith("#"));
  return new Map(lines.map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
}

Deno.test("renderServerProperties: an advertised host opens the client listener to the network", () => {
  const props = parseProperties(
    renderServerProperties({
      port: 9092,
      controllerPort: 9093,
      dataDir: "/srv/kafka",
      advertisedHost: "192.168.1.10",
    }),
  );
  assert.equal(props.get("listeners"), "PLAINTEXT://0.0.0.0:9092,CONTROLLER://127.0.0.1:9093");
  assert.equal(props.get("advertised.listeners"), "PLAINTEXT://192.168.1.10:9092");
  assert.equal(props.get("controller.quorum.voters"), "1@127.0.0.1:9093");
});

Deno.test("renderServerProperties: single-node KRaft on loopback with replication 1", () => {
  const props = parseProperties(
    renderServerProperties({ port: 19092, controllerPort: 19093, dataDir: "/srv/kafka" }),
  );
  assert.equal(props.get("process.roles"), "broker,controller");
  assert.equal(props.get("node.id"), "1");
  assert.equal(props.get("controller.quorum.voters"), "1@127.0.0.1:19093");
  assert.equal(
    props.get("listeners"),
    "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093",
  );
  assert.equal(props.get("advertised.listeners"), "PLAINTEXT://127.0.0.1:19092");
  assert.equal(props.get("controller.listener.names"), "CONTROLLER");
  assert.equal(
    props.get("listener.security.protocol.map"),
    "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
  );
  assert.equal(props.get("inter.broker.listener.name"), "PLAINTEXT");
  assert.equal(props.get("log.dirs"), "/srv/kafka/kraft");
  assert.equal(props.get("offsets.topic.replication.factor"), "1");
  assert.equal(props.get("transaction.state.log.replication.factor"), "1");
  assert.equal(props.get("transaction.state.log.min.isr"), "1");
  assert.equal(props.get("group.initial.rebalance.delay.ms"), "0");
  assert.equal(props.get("auto.create.topics.enable"), "false");
});

Deno.test("renderServerProperties: escapes backslashes in the data dir", () => {
  const text = renderServerProperties({ port: 1, controllerPort: 2, dataDir: "C:\\kafka" });
  assert.match(text, /^log\.dirs=C:\\\\kafka\/kraft$/m);
});

Deno.test("checkJava: missing java says what to do", async () => {
  await assert.rejects(
    checkJava(fakeProbe({})),
    (e: Error) =>
      e.message.startsWith(
        "Java 17+ is needed for the local Kafka broker; install it or set KAFKA_BROKERS=host:port to use an existing broker",
      ) && e.message.includes("no `java` on the PATH"),
  );
});

Deno.test("checkJava: rejects Java older than 17, including the 1.x form", async () => {
  for (
    const [output, found] of [['openjdk version "11.0.2"', "11"], ['java version "1.8.0_381"', "8"]]
  ) {
    await assert.rejects(
      checkJava(fakeProbe({ java: { code: 0, output } })),
      (e: Error) => e.message.includes("Java 17+ is needed") && e.message.includes(`Java ${found}`),
    );
  }
});

Deno.test("checkJava: accepts 17 and later", async () => {
  assert.equal(await checkJava(fakeProbe({ java: JAVA_17 })), 17);
  assert.equal(
    await checkJava(fakeProbe({ java: { code: 0, output: 'openjdk version "21" 2023-09-19' } })),
    21,
  );
});

Deno.test("checkMaven: missing mvn says what to do", async () => {
  await checkMaven(fakeProbe({ mvn: MVN }));
  await assert.rejects(
    checkMaven(fakeProbe({})),
    /Maven \(mvn\) is needed once to fetch the Kafka broker jars; install it or set KAFKA_BROKERS/,
  );
});

Deno.test("ensureKafkaJars: checks java before anything and mvn only when it must fetch", async () => {
  await withTempDir(async (cache) => {
    const env = (n: string) => n === "XDG_CACHE_HOME" ? cache : undefined;
    const log = () => {};
    const noJava = fakeProbe({ mvn: MVN });
    await assert.rejects(ensureKafkaJars({ probe: noJava, env, log }), /Java 17\+ is needed/);
    assert.deepEqual(noJava.calls, ["java"]);

    const noMaven = fakeProbe({ java: JAVA_17 });
    await assert.rejects(ensureKafkaJars({ probe: noMaven, env, log }), /Maven \(mvn\) is needed/);
    assert.deepEqual(noMaven.calls, ["java", "mvn"]);
    assert.deepEqual([...Deno.readDirSync(cache)], [], "nothing fetched");
  });
});

Deno.test("ensureKafkaJars: a complete cache needs no mvn (and so no network)", async () => {
  await withTempDir(async (cache) => {
    const env = (n: string) => n === "XDG_CACHE_HOME" ? cache : undefined;
    const probe = fakeProbe({ java: JAVA_17 });
    const pom = await Deno.readTextFile(new URL("./pom.xml", import.meta.url));
    const dir = jarCacheDir(kafkaVersion(pom), env);
    await Deno.mkdir(dir, { recursive: true });
    const hash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(pom));
    const hex = Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join("");
    await Deno.writeTextFile(`${dir}/.complete`, hex + "\n");
    assert.equal(await ensureKafkaJars({ probe, env, log: () => {} }), dir);
    assert.deepEqual(probe.calls, ["java"]);

    // An interrupted fetch leaves no marker (it is written last): fetch again.
    await Deno.remove(`${dir}/.complete`);
    await assert.rejects(ensureKafkaJars({ probe, env, log: () => {} }), /Maven \(mvn\) is needed/);
  });
});

Deno.test("jarCacheDir: honours XDG_CACHE_HOME, else ~/.cache", () => {
  const env = (vars: Record<string, string>) => (n: string) => vars[n];
  assert.equal(
    jarCacheDir("4.4.0", env({ XDG_CACHE_HOME: "/x", HOME: "/home/u" })),
    "/x/evcharging/kafka-4.4.0",
  );
  assert.equal(
    jarCacheDir("4.4.0", env({ HOME: "/home/u" })),
    "/home/u/.cache/evcharging/kafka-4.4.0",
  );
});

Deno.test("kafkaVersion: read from the pom", () => {
  assert.equal(kafkaVersion("<properties><kafka.version> 4.4.0 </kafka.version>"), "4.4.0");
  assert.match(kafkaVersion(), /^\d+\.\d+\.\d+$/);
});

Deno.test("newClusterId: 22 characters of base64url", () => {
  assert.match(newClusterId(), /^[A-Za-z0-9_-]{22}$/);
});

Deno.test("startLocalKafka: KAFKA_BROKERS set starts nothing", async () => {
  const kafka = await startLocalKafka({
    dataDir: "/nonexistent",
    kafkaBrokers: "h1:9092, h2:9093",
  });
  assert.deepEqual(kafka.brokers, ["h1:9092", "h2:9093"]);
  assert.equal(kafka.external, true);
  await kafka.stop();
});

Deno.test("startLocalKafka: a port in use is reported up front", async () => {
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (busy.addr as Deno.NetAddr).port;
  try {
    await assert.rejects(
      startLocalKafka({
        port,
        controllerPort: port + 1,
        dataDir: "/nonexistent",
        kafkaBrokers: "",
      }),
      new RegExp(
        `port 127\\.0\\.0\\.1:${port} is already in use.*KAFKA_BROKERS=127\\.0\\.0\\.1:${port}`,
      ),
    );
  } finally {
    busy.close();
  }
});

Deno.test("the kafka task's flags: defaults, and errors that name the flag", () => {
  const parse = (args: string[]) => parseConfig(kafkaConfig, args, {});
  assert.deepEqual(parse([]), {
    port: 9092,
    advertisedHost: undefined,
    dataDir: "data/kafka",
    fresh: false,
    fetchOnly: false,
  });
  assert.deepEqual(parse(["--port", "0", "--data-dir", "/d", "--fresh"]), {
    port: 0,
    advertisedHost: undefined,
    dataDir: "/d",
    fresh: true,
    fetchOnly: false,
  });
  assert.equal(parse(["--advertise", "192.168.1.10"]).advertisedHost, "192.168.1.10");
  assert.throws(() => parse(["--port", "90x"]), /^ConfigError: --port \(env KAFKA_PORT\): .*"90x"/);
  assert.throws(() => parse(["--port", "70000"]), /--port/);
  assert.throws(() => parse(["--prot", "1"]), /unknown flag --prot/);
  assert.throws(() => parse(["--port"]), /--port needs a value/);
});

Deno.test("jvmTuningFlags: C1 only for a quick start, the full JIT for a broker that runs hot", () => {
  assert.deepEqual(jvmTuningFlags("startup"), ["-XX:TieredStopAtLevel=1"]);
  assert.deepEqual(jvmTuningFlags("throughput"), []);
});
