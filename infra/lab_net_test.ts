import assert from "node:assert/strict";
import {
  faultCommands,
  healCommands,
  labNet,
  leftoverNamespaces,
  randomLossBytecode,
  setupCommands,
  teardownCommands,
} from "./lab_net.ts";

Deno.test("labNet: names every namespace after the run's pid and puts the hosts on one /24", () => {
  const net = labNet(4242);
  assert.deepEqual(net.ns, { pc1: "evlab4242-pc1", pc2: "evlab4242-pc2", pc3: "evlab4242-pc3" });
  assert.equal(net.bridgeNs, "evlab4242-br");
  assert.deepEqual(net.address, { pc1: "10.77.0.1", pc2: "10.77.0.2", pc3: "10.77.0.3" });
  assert.equal(net.subnet, "10.77.0.0/24");
});

Deno.test("labNet: refuses a public or malformed subnet and a bad pid", () => {
  assert.throws(() => labNet(1, "8.8.8"), /private \/24/);
  assert.throws(() => labNet(1, "10.77"), /private \/24/);
  assert.throws(() => labNet(1, "10.300.0"), /private \/24/);
  assert.throws(() => labNet(0), /positive integer/);
  assert.equal(labNet(1, "192.168.5").address.pc2, "192.168.5.2");
});

Deno.test("setupCommands: no default route, no NAT, the bridge in its own namespace", () => {
  const cmds = setupCommands(labNet(7)).map((c) => c.join(" "));
  assert.ok(!cmds.some((c) => /\broute\b|\bnat\b|masquerade|ip_forward/.test(c)));
  assert.ok(cmds.includes("ip netns add evlab7-br"));
  assert.ok(cmds.includes("ip -n evlab7-pc1 link set lo up"));
  assert.ok(cmds.includes("ip -n evlab7-pc3 addr add 10.77.0.3/24 dev eth0"));
  // Every bridge port is made in the bridge's namespace, never in the caller's.
  for (const c of cmds.filter((c) => c.includes("type veth"))) assert.match(c, /^ip -n evlab7-br /);
  assert.deepEqual(teardownCommands(labNet(7)).map((c) => c.at(-1)), [
    "evlab7-pc1",
    "evlab7-pc2",
    "evlab7-pc3",
    "evlab7-br",
  ]);
});

Deno.test("leftoverNamespaces: only lab namespaces of runs that are gone", () => {
  const names = ["evlab10-pc1 (id: 3)", "evlab10-br", "evlab11-pc2", "other", "evlab12-pc9"];
  assert.deepEqual(leftoverNamespaces(names, (pid) => pid === 11), ["evlab10-pc1", "evlab10-br"]);
});

Deno.test("faultCommands: a cut drops both ways, a port fault only that port", () => {
  const net = labNet(7);
  const cut = faultCommands(net, { kind: "cut", a: "pc2", b: "pc1" }).map((c) => c.join(" "));
  assert.equal(cut.length, 2);
  assert.match(
    cut[0],
    /evlab7-pc2 tc filter add dev eth0 .*match ip dst 10\.77\.0\.1\/32 classid 1:30/,
  );
  assert.match(
    cut[1],
    /evlab7-pc1 tc filter add dev eth0 .*match ip dst 10\.77\.0\.2\/32 classid 1:30/,
  );
  const port = faultCommands(net, { kind: "port", client: "pc2", server: "pc1", port: 9092 })
    .map((c) => c.join(" "));
  assert.match(port[0], /evlab7-pc2 .*dst 10\.77\.0\.1\/32 .*dport 9092 0xffff/);
  assert.match(port[1], /evlab7-pc1 .*dst 10\.77\.0\.2\/32 .*sport 9092 0xffff/);
  assert.throws(() => faultCommands(net, { kind: "cut", a: "pc1", b: "pc1" }), /two different/);
  assert.throws(
    () => faultCommands(net, { kind: "port", client: "pc2", server: "pc1", port: 70000 }),
    /port must be/,
  );
  const heal = healCommands(net).map((c) => c.join(" "));
  assert.ok(heal.includes("ip netns exec evlab7-pc2 tc filter del dev eth0 parent 1: prio 1"));
});

Deno.test("randomLossBytecode: a classic-BPF program that matches the given share", () => {
  const [count, ...ops] = randomLossBytecode(0.05).split(",");
  assert.equal(Number(count), ops.length);
  const threshold = Number(ops[1].split(" ")[3]);
  assert.ok(Math.abs((2 ** 32 - 1 - threshold) / 2 ** 32 - 0.05) < 1e-9);
  const towards = randomLossBytecode(0.05, "10.77.0.3").split(",");
  assert.equal(Number(towards[0]), 6);
  assert.equal(towards[2], `21 0 3 ${(10 << 24) + (77 << 16) + 3}`);
  assert.throws(() => randomLossBytecode(0), /between 0 and 1/);
  assert.throws(() => randomLossBytecode(0.1, "10.77.0"), /not an IPv4/);
});
