/**
 * Brings the lab up and down: the three hosts' network, then the README's three-PC commands on
 * them in order (pc1: certificates, Kafka, Registry, Central, weather office; pc2: the CPs,
 * given only pc1's `ca.pem` and the Registry admin key; pc3: the drivers), and the observer.
 *
 * Each host has a folder of its own under the lab's folder (its "disk"); the commands are the
 * README's, plus the flags that put each host's files in its folder.
 *
 * @module
 */
import { join } from "node:path";
import {
  type Fault,
  faultCommands,
  healCommands,
  type HostName,
  HOSTS,
  inNs,
  type LabNet,
  labNet,
  leftoverNamespaces,
  netemCommand,
  setupCommands,
  slowCommands,
  teardownCommands,
} from "./lab_net.ts";
import { alive, HostProcess, killNamespace, ROOT, run, runAll } from "./lab_hosts.ts";
import { Observer } from "./lab_observer.ts";

/** One CP of the lab. */
export interface LabCp {
  readonly id: string;
  readonly location: string;
  readonly price: number;
  readonly power: number;
  /** Energy after which its headless engine ends the session. */
  readonly targetKwh: number;
}

/** The CPs on pc2: the driver samples charge at CP-001…CP-005. */
export const LAB_CPS: readonly LabCp[] = [
  { id: "CP-001", location: "Alicante", price: 0.35, power: 22, targetKwh: 3 },
  { id: "CP-002", location: "Madrid", price: 0.42, power: 50, targetKwh: 6 },
  { id: "CP-003", location: "Bilbao", price: 0.29, power: 11, targetKwh: 2 },
  { id: "CP-004", location: "Oslo", price: 0.51, power: 150, targetKwh: 12 },
  { id: "CP-005", location: "Valencia", price: 0.38, power: 7.4, targetKwh: 1.5 },
];

/** The drivers on pc3, each looping over one sample file. */
export const LAB_DRIVERS = [
  { id: "DRV-001", file: "driver/samples/commuter.txt" },
  { id: "DRV-002", file: "driver/samples/taxi.txt" },
  { id: "DRV-003", file: "driver/samples/tourist.txt" },
] as const;

/** Simulated minutes per wall second for the CPs (sessions of 5–15 s). */
const SPEED = 60;
/** Central's heartbeat timeout (its default), which the scenarios hold it to. */
export const HEARTBEAT_TIMEOUT_S = 3;

/** Settings of {@link startLab}. */
export interface LabOptions {
  /** Folder of every lab run (`data/lab`); this run's is `<dir>/<prefix>`. */
  readonly dir: string;
  /** Told each step. */
  readonly progress: (text: string) => void;
  /** Aborting it stops the start (what started is stopped by {@link Lab.stop}). */
  readonly signal?: AbortSignal;
}

/** Bounds of the start's waits (a loaded 2-core machine is slow; these only cap a hang). */
const START_TIMEOUT_MS = { certs: 60_000, kafka: 180_000, registry: 60_000, central: 120_000 };

/** A running lab. */
export class Lab {
  /** Names and addresses. */
  readonly net: LabNet;
  /** This run's folder. */
  readonly dir: string;
  /** Every process by name, in start order. */
  readonly processes = new Map<string, HostProcess>();
  /** Which host each process runs on. */
  readonly hostOf = new Map<string, HostName>();
  /** The observer (once Central is up). */
  observer: Observer | undefined;
  readonly #progress: (text: string) => void;
  #stopped = false;

  constructor(net: LabNet, dir: string, progress: (text: string) => void) {
    this.net = net;
    this.dir = dir;
    this.#progress = progress;
  }

  /** The folder of `host`. */
  hostDir(host: HostName): string {
    return join(this.dir, host);
  }

  /** The log folder. */
  get logDir(): string {
    return join(this.dir, "logs");
  }

  /** pc1's address, where Kafka, the Registry and Central are. */
  get pc1(): string {
    return this.net.address.pc1;
  }

  /** Central's REST base URL as clients on the /24 use it: HTTPS, as Central is off loopback. */
  get centralUrl(): string {
    return `https://${this.pc1}:8080`;
  }

  /** The process named `name`. */
  process(name: string): HostProcess {
    const p = this.processes.get(name);
    if (p === undefined) throw new Error(`no lab process ${name}`);
    return p;
  }

  /** Starts `task` on `host` as process `name`. */
  async spawn(
    host: HostName,
    name: string,
    task: string[],
    env?: Record<string, string>,
  ): Promise<HostProcess> {
    return await this.spawnDeno(host, name, ["task", ...task], env);
  }

  /** Starts `deno <args>` on `host` as process `name`. */
  async spawnDeno(
    host: HostName,
    name: string,
    args: string[],
    env?: Record<string, string>,
  ): Promise<HostProcess> {
    const p = new HostProcess({ name, ns: this.net.ns[host], args, env }, this.logDir);
    this.processes.set(name, p);
    this.hostOf.set(name, host);
    this.#progress(`${host}$ ${p.commandLine}   (log: ${p.logFile})`);
    await p.start();
    return p;
  }

  /** Starts `fault`. */
  async fault(fault: Fault): Promise<void> {
    for (const cmd of faultCommands(this.net, fault)) await run(cmd);
  }

  /**
   * Delays what `host` sends by `delayMs` and drops a share `loss` of its packets (both ways):
   * with `sch_netem` where the kernel has it; otherwise a classic-BPF filter drops and a relay
   * inside the host delays its connections to pc1's Kafka (the only server drivers use).
   * Returns which of the two it used.
   */
  async slowHost(
    host: HostName,
    { delayMs, loss }: { delayMs: number; loss: number },
  ): Promise<"netem" | "relay"> {
    try {
      await run(netemCommand(this.net, host, delayMs, loss));
      return "netem";
    } catch {
      // No sch_netem in this kernel: the relay and a BPF filter instead.
    }
    await this.fault({ kind: "loss", host, share: loss });
    // The address first: the relay can only listen on an address of its host.
    for (const cmd of slowCommands(this.net, host)) await run(cmd);
    const relay = await this.spawnDeno(host, `delay-${host}`, [
      "run",
      "--allow-net",
      join(ROOT, "infra/lab_delay.ts"),
      "--listen",
      `${this.pc1}:9092`,
      "--to",
      `${this.net.pc1Alias}:9092`,
      "--delay",
      String(delayMs),
    ]);
    await this.waitForLog(relay, "relaying", 30_000);
    return "relay";
  }

  /** Ends every fault. */
  async heal(): Promise<void> {
    // The relay first, while pc1's address is still local to the slowed host: its clients see
    // their connections close and reconnect, straight to pc1 once the address is gone.
    const relayed = HOSTS.filter((h) => this.processes.get(`delay-${h}`)?.running);
    for (const host of relayed) await this.processes.get(`delay-${host}`)?.stop();
    await runAll(healCommands(this.net));
    for (const host of relayed) {
      await runAll([inNs(this.net.ns[host], ["ss", "-K", "dst", this.pc1])]);
    }
  }

  /** Waits until `file` contains `text`; throws if `process` exits first or after `timeoutMs`. */
  async waitForLog(
    process: HostProcess,
    text: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      signal?.throwIfAborted();
      const content = await Deno.readTextFile(process.logFile).catch(() => "");
      if (content.includes(text)) return;
      if (!process.running) {
        throw new Error(`${process.spec.name} exited; see ${process.logFile}`);
      }
      if (Date.now() > deadline) {
        throw new Error(
          `timed out after ${timeoutMs / 1000} s waiting for "${text}" in ${process.logFile}`,
        );
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Stops every process (drivers, CPs, then pc1's, Kafka last) and removes the namespaces. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.observer?.stop();
    const order = [...this.processes.values()].reverse();
    for (const host of ["pc3", "pc2", "pc1"] as const) {
      await Promise.all(
        order.filter((p) => this.hostOf.get(p.spec.name) === host).map((p) => p.stop()),
      );
    }
    for (const host of HOSTS) await killNamespace(this.net.ns[host]);
    await runAll(teardownCommands(this.net));
  }
}

/** Removes what earlier runs whose process is gone left behind: namespaces and folders. */
export async function cleanLeftovers(dir: string, say: (text: string) => void): Promise<void> {
  const names = (await run(["ip", "netns", "list"])).split("\n").filter((l) => l.trim() !== "");
  for (const ns of leftoverNamespaces(names, alive)) {
    say(`removing namespace ${ns}, left by a lab run that is gone`);
    await killNamespace(ns);
    await run(["ip", "netns", "del", ns]).catch(() => {});
  }
  try {
    for await (const entry of Deno.readDir(dir)) {
      const m = entry.name.match(/^evlab(\d+)$/);
      if (entry.isDirectory && m && !alive(Number(m[1]))) {
        await Deno.remove(join(dir, entry.name), { recursive: true });
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/**
 * Builds the network and starts every process, waiting for each step as a person would (the
 * broker says it is up, the Registry listens, Central answers, each CP is `ACTIVATED`). On a
 * failure it stops what started and removes the namespaces before it throws.
 */
export async function startLab(options: LabOptions): Promise<Lab> {
  const say = options.progress;
  const { signal } = options;
  await cleanLeftovers(options.dir, say);
  const net = labNet(Deno.pid);
  const lab = new Lab(net, join(options.dir, net.prefix), say);
  try {
    for (const host of HOSTS) await Deno.mkdir(lab.hostDir(host), { recursive: true });
    await Deno.mkdir(lab.logDir, { recursive: true });
    for (const cmd of setupCommands(net)) await run(cmd);
    for (const host of HOSTS) say(`${host}: ${net.address[host]} (namespace ${net.ns[host]})`);
    await startPc1(lab, signal);
    await startPc2(lab, signal);
    await startPc3(lab);
    return lab;
  } catch (error) {
    await lab.stop();
    throw error;
  }
}

async function startPc1(lab: Lab, signal?: AbortSignal): Promise<void> {
  const pc1 = lab.pc1;
  const dir = lab.hostDir("pc1");
  const certs = join(dir, "certs");
  const data = join(dir, "data");
  const certsRun = await lab.spawn("pc1", "certs", ["certs", "--host", pc1, "--dir", certs]);
  const status = await certsRun.exited;
  if (!status.success) throw new Error(`deno task certs failed; see ${certsRun.logFile}`);

  const kafka = await lab.spawn("pc1", "kafka", [
    "kafka",
    "--advertise",
    pc1,
    "--data-dir",
    join(dir, "kafka"),
  ]);
  await lab.waitForLog(kafka, "Kafka is up", START_TIMEOUT_MS.kafka, signal);

  const registry = await lab.spawn("pc1", "registry", [
    "registry",
    "--db",
    join(data, "registry.db"),
    "--cert",
    join(certs, "server.pem"),
    "--key",
    join(certs, "server.key"),
  ]);
  await lab.waitForLog(registry, "registry listening", START_TIMEOUT_MS.registry, signal);

  await lab.spawn("pc1", "central", [
    "central",
    "--broker",
    `${pc1}:9092`,
    "--registry-url",
    `https://${pc1}:8443`,
    "--ca",
    join(certs, "ca.pem"),
    "--cert",
    join(certs, "server.pem"),
    "--key",
    join(certs, "server.key"),
    "--db",
    join(data, "central.db"),
    "--no-tui",
  ]);
  const observer = new Observer(
    lab.net.ns.pc1,
    lab.centralUrl,
    `${pc1}:9092`,
    join(certs, "ca.pem"),
    join(lab.logDir, "probe.log"),
  );
  lab.observer = observer;
  await observer.waitFor(
    "Central to answer GET /cps and the observer to join Kafka",
    () => {
      if (!lab.process("central").running) {
        throw new Error(`Central exited; see ${lab.process("central").logFile}`);
      }
      return observer.lastAnswerAt > 0 && observer.ready ? true : undefined;
    },
    START_TIMEOUT_MS.central,
    signal,
  );

  await lab.spawn("pc1", "weather", [
    "weather",
    "--central",
    lab.centralUrl,
    "--ca",
    join(certs, "ca.pem"),
    "--locations",
    join(data, "weather_locations.json"),
    "--service-key-file",
    join(data, "weather_service.key"),
    "--no-tui",
  ]);
}

async function startPc2(lab: Lab, signal?: AbortSignal): Promise<void> {
  const pc1 = lab.pc1;
  const dir = lab.hostDir("pc2");
  // What a person copies from PC1: the CA certificate (not its key) and the admin key.
  const caFile = join(dir, "ca.pem");
  await Deno.copyFile(join(lab.hostDir("pc1"), "certs", "ca.pem"), caFile);
  const adminKey = (await Deno.readTextFile(join(lab.hostDir("pc1"), "data", "registry_admin.key")))
    .trim();
  for (const cp of LAB_CPS) {
    await lab.spawn("pc2", `cp-${cp.id}`, [
      "cp",
      "--cp-id",
      cp.id,
      "--broker",
      `${pc1}:9092`,
      "--central",
      `${pc1}:7000`,
      "--registry-url",
      `https://${pc1}:8443`,
      "--ca",
      caFile,
      "--location",
      cp.location,
      "--price",
      String(cp.price),
      "--power",
      String(cp.power),
      "--credentials-dir",
      join(dir, "cp"),
      "--headless",
      "--speed",
      String(SPEED),
      "--target-kwh",
      String(cp.targetKwh),
    ], { REGISTRY_ADMIN_KEY: adminKey });
  }
  const observer = lab.observer!;
  await observer.waitFor(
    "every CP to be ACTIVATED in Central",
    () => LAB_CPS.every((cp) => observer.cps.get(cp.id)?.state === "ACTIVATED") || undefined,
    180_000,
    signal,
  );
}

async function startPc3(lab: Lab): Promise<void> {
  for (const driver of LAB_DRIVERS) {
    await lab.spawn("pc3", `driver-${driver.id}`, [
      "driver",
      `${lab.pc1}:9092`,
      driver.id,
      driver.file,
      "--loop",
    ]);
  }
}
