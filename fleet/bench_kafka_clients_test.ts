import assert from "node:assert/strict";
import { testBrokers } from "../tests/kafka_env.ts";
import {
  parseClientsBenchArgs,
  renderClientsBench,
  type RoundResult,
  runRounds,
  spread,
  summarize,
} from "./bench_kafka_clients.ts";
import { runTrial } from "./kafka_clients.ts";

Deno.test("kafka clients bench: arguments, defaults and the bad ones named", () => {
  assert.deepEqual(parseClientsBenchArgs([]), {
    rounds: 5,
    messages: 30_000,
    warmup: 5_000,
    json: false,
  });
  assert.deepEqual(
    parseClientsBenchArgs(["--rounds", "3", "--messages", "2000", "--warmup", "0", "--json"]),
    { rounds: 3, messages: 2000, warmup: 0, json: true },
  );
  assert.throws(() => parseClientsBenchArgs(["--rounds", "0"]), /--rounds needs .* got 0/);
  assert.throws(() => parseClientsBenchArgs(["--messages", "999"]), /at least 1000; got 999/);
  assert.throws(() => parseClientsBenchArgs(["--warmup", "10"]), /0 or at least 1000; got 10/);
  assert.throws(() => parseClientsBenchArgs(["--rounds", "x"]), /got x/);
  assert.throws(() => parseClientsBenchArgs(["--toString", "1"]), /unknown argument --toString/);
});

Deno.test("kafka clients bench: spreads and summaries leave the warm-up out and keep errors", () => {
  assert.equal(spread([]), undefined);
  assert.deepEqual(spread([3, 1, 2]), { min: 1, median: 2, max: 3 });
  assert.deepEqual(spread([4, 1, 2, 3]), { min: 1, median: 2.5, max: 4 });
  const figures = (producePerS: number) => ({
    producePerS,
    consumePerS: producePerS * 2,
    firstMessageMs: 50,
    produceCpuUs: 10,
    consumeCpuUs: 5,
    read: 1000,
    committed: 1000,
  });
  const results: RoundResult[] = [
    { round: 0, client: "kafkajs", figures: figures(1) }, // the warm-up
    { round: 1, client: "kafkajs", figures: figures(100) },
    { round: 1, client: "platformatic", error: "TypeError: no" },
    { round: 2, client: "platformatic", figures: figures(300) },
    { round: 2, client: "kafkajs", figures: figures(200) },
  ];
  const [kafkajs, platformatic] = summarize(results);
  assert.equal(kafkajs.client, "kafkajs");
  assert.equal(kafkajs.ok, 2);
  assert.deepEqual(kafkajs.figures.producePerS, { min: 100, median: 150, max: 200 });
  assert.deepEqual(kafkajs.figures.consumePerS, { min: 200, median: 300, max: 400 });
  assert.equal(kafkajs.figures.brokerProduceCpuUs, undefined, "no broker figures: none given");
  assert.deepEqual(platformatic.errors, ["TypeError: no"]);
  assert.equal(platformatic.ok, 1);
  const table = renderClientsBench([kafkajs, platformatic]);
  assert.match(table, /^kafkajs\s+2\/2\s+100 \/ 150 \/ 200\s+200 \/ 300 \/ 400/m);
  assert.match(table, /^platformatic\s+1\/2\s+300 \/ 300 \/ 300/m);
  assert.match(table, /^platformatic failed: TypeError: no$/m);
});

Deno.test("kafka clients: a trial needs two batches' worth of messages", () => {
  assert.throws(
    () => runTrial("platformatic", { brokers: ["127.0.0.1:1"], messages: 999, bytes: 303 }),
    RangeError,
  );
});

Deno.test("kafka clients bench on the real broker: both clients produce, read each message once, commit it, and partition keys alike", async () => {
  const lines: string[] = [];
  const { results, checks } = await runRounds({
    brokers: testBrokers(),
    bench: { rounds: 1, messages: 1_500, warmup: 0 },
    bytes: 303,
    log: (line) => lines.push(line),
  });
  assert.deepEqual(results.map((r) => [r.client, r.error]), [
    ["kafkajs", undefined],
    ["platformatic", undefined],
  ], lines.join("\n"));
  for (const { client, figures } of results) {
    assert.ok(figures !== undefined, client);
    assert.equal(figures.read, 1_500, `${client} read every message once`);
    assert.equal(figures.committed, 1_500, `${client}'s group committed up to the end`);
    assert.ok(figures.producePerS > 0 && figures.consumePerS > 0, client);
  }
  assert.deepEqual(checks, [{ round: 1, keysCompared: 1000, keysSamePartition: 1000 }]);
});
