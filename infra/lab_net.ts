/**
 * The lab's network as data: three hosts (`pc1`, `pc2`, `pc3`) as Linux network namespaces on
 * a bridge that lives in a namespace of its own, so nothing of it touches the machine's own
 * network: the /24 exists only inside the namespaces, with no default route and no NAT.
 *
 * Everything here is pure: it names the namespaces and builds the `ip` and `tc` command lines
 * that make, break, heal and remove the network; `infra/lab_hosts.ts` runs them.
 *
 * Faults are egress filters on each host's `eth0`. Every host gets, at setup, an HTB root
 * whose default class passes everything and whose class `1:30` ends in `pfifo limit 0`, a queue
 * that holds nothing and so drops every packet sent to it; a fault is a `u32` filter (by
 * address and port) or a classic-BPF filter (random loss) that sends packets to `1:30`. Only
 * `htb`, `pfifo`, `u32` and `bpf` are needed, which kernels without `sch_netem` or any tc
 * action module (like this project's machines) still have. Cutting a link is a filter on both
 * ends, so both directions drop silently, like a pulled cable, and sockets see no error.
 *
 * @module
 */

/** One of the lab's hosts. */
export type HostName = "pc1" | "pc2" | "pc3";

/** The three hosts, in order. */
export const HOSTS: readonly HostName[] = ["pc1", "pc2", "pc3"];

/** The lab's network: namespace names and addresses. */
export interface LabNet {
  /** What every namespace name starts with (`evlab<pid>`): unique per run. */
  readonly prefix: string;
  /** The namespace of each host. */
  readonly ns: Readonly<Record<HostName, string>>;
  /** The namespace holding the bridge. */
  readonly bridgeNs: string;
  /** Each host's address. */
  readonly address: Readonly<Record<HostName, string>>;
  /** The /24 they share, e.g. `10.77.0.0/24`. */
  readonly subnet: string;
  /**
   * A second address of pc1 (`.11`), for the delaying relay of a slow host, which takes over
   * pc1's own address inside that host (see {@link slowCommands}).
   */
  readonly pc1Alias: string;
}

/** Namespace names of lab runs: `evlab<pid>-pc1` … and `evlab<pid>-br`. */
const NS_NAME = /^evlab(\d+)-(pc1|pc2|pc3|br)$/;

/**
 * The network of the lab run with process id `pid`, on `10.77.0.0/24` unless `subnet` names the
 * first three octets of another private /24 (e.g. `10.78.5`).
 */
export function labNet(pid: number, subnet = "10.77.0"): LabNet {
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`pid must be a positive integer`);
  const octets = subnet.split(".").map(Number);
  if (
    octets.length !== 3 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255) ||
    !isPrivate(octets)
  ) {
    throw new Error(`subnet must be the first three octets of a private /24, not ${subnet}`);
  }
  const prefix = `evlab${pid}`;
  return {
    prefix,
    ns: { pc1: `${prefix}-pc1`, pc2: `${prefix}-pc2`, pc3: `${prefix}-pc3` },
    bridgeNs: `${prefix}-br`,
    address: { pc1: `${subnet}.1`, pc2: `${subnet}.2`, pc3: `${subnet}.3` },
    subnet: `${subnet}.0/24`,
    pc1Alias: `${subnet}.11`,
  };
}

/** Whether `a.b.c` lies in 10/8, 172.16/12 or 192.168/16. */
function isPrivate([a, b]: number[]): boolean {
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

/**
 * The lab namespaces among `names` (the lines of `ip netns list`) that belong to a run whose
 * process is gone, by that run's pid: leftovers of a run that was killed before it cleaned up.
 */
export function leftoverNamespaces(
  names: readonly string[],
  alive: (pid: number) => boolean,
): string[] {
  return names
    .map((line) => line.trim().split(/\s+/)[0] ?? "")
    .filter((name) => {
      const m = name.match(NS_NAME);
      return m !== null && !alive(Number(m[1]));
    });
}

/** One command line (argv), run as root. */
export type Cmd = readonly string[];

/** The interface of each host and the bridge's port facing it. */
const ETH = "eth0";
const port = (host: HostName) => `to-${host}`;

/** Runs `args` inside namespace `ns`. */
export function inNs(ns: string, args: Cmd): Cmd {
  return ["ip", "netns", "exec", ns, ...args];
}

/** The commands that build the lab's network, in order. */
export function setupCommands(net: LabNet): Cmd[] {
  const cmds: Cmd[] = [
    ["ip", "netns", "add", net.bridgeNs],
    ["ip", "-n", net.bridgeNs, "link", "add", "br0", "type", "bridge"],
    ["ip", "-n", net.bridgeNs, "link", "set", "br0", "up"],
  ];
  for (const host of HOSTS) {
    const ns = net.ns[host];
    cmds.push(
      ["ip", "netns", "add", ns],
      ["ip", "-n", ns, "link", "set", "lo", "up"],
      [
        "ip",
        "-n",
        net.bridgeNs,
        "link",
        "add",
        port(host),
        "type",
        "veth",
        "peer",
        ETH,
        "netns",
        ns,
      ],
      ["ip", "-n", net.bridgeNs, "link", "set", port(host), "master", "br0"],
      ["ip", "-n", net.bridgeNs, "link", "set", port(host), "up"],
      ["ip", "-n", ns, "addr", "add", `${net.address[host]}/24`, "dev", ETH],
      ["ip", "-n", ns, "link", "set", ETH, "up"],
      ...faultQdiscCommands(ns),
    );
  }
  cmds.push(["ip", "-n", net.ns.pc1, "addr", "add", `${net.pc1Alias}/24`, "dev", ETH]);
  return cmds;
}

/** The HTB root each host's `eth0` gets, with its pass-all default and its dropping class. */
function faultQdiscCommands(ns: string): Cmd[] {
  const tc = (...args: string[]) => inNs(ns, ["tc", ...args]);
  return [
    tc("qdisc", "add", "dev", ETH, "root", "handle", "1:", "htb", "default", "10", "r2q", "100000"),
    tc("class", "add", "dev", ETH, "parent", "1:", "classid", "1:10", "htb", "rate", "10gbit"),
    tc("class", "add", "dev", ETH, "parent", "1:", "classid", "1:30", "htb", "rate", "10gbit"),
    tc("qdisc", "add", "dev", ETH, "parent", "1:30", "handle", "30:", "pfifo", "limit", "0"),
  ];
}

/** The commands that remove the lab's network (each may fail if it is already gone). */
export function teardownCommands(net: LabNet): Cmd[] {
  return [...HOSTS.map((h) => ["ip", "netns", "del", net.ns[h]]), [
    "ip",
    "netns",
    "del",
    net.bridgeNs,
  ]];
}

/** What a fault drops, as egress rules on hosts. */
export type Fault =
  /** Every packet between two hosts, both ways. */
  | { readonly kind: "cut"; readonly a: HostName; readonly b: HostName }
  /** TCP between `client` and `server`'s `port`, both ways, and nothing else. */
  | {
    readonly kind: "port";
    readonly client: HostName;
    readonly server: HostName;
    readonly port: number;
  }
  /** A random share (0–1) of every packet `host` sends or receives. */
  | { readonly kind: "loss"; readonly host: HostName; readonly share: number };

/** Filter priorities: `u32` and `bpf` filters may not share one. */
const PRIO_U32 = "1";
const PRIO_BPF = "2";

/** The commands that start `fault`. */
export function faultCommands(net: LabNet, fault: Fault): Cmd[] {
  // A filter on `on`'s egress that sends what it matches to the fault's class (1:30).
  const toFaultClass = (on: HostName, prio: string, ...match: string[]) =>
    inNs(net.ns[on], [
      ...["tc", "filter", "add", "dev", ETH, "parent", "1:", "protocol", "ip", "prio", prio],
      ...match,
      ...["classid", "1:30"],
    ]);
  const u32 = (on: HostName, ...match: string[]) => toFaultClass(on, PRIO_U32, "u32", ...match);
  const ip = (
    field: "src" | "dst",
    host: HostName,
  ) => ["match", "ip", field, `${net.address[host]}/32`];
  const tcpPort = (field: "sport" | "dport", n: number) => [
    "match",
    "ip",
    "protocol",
    "6",
    "0xff",
    "match",
    "ip",
    field,
    String(n),
    "0xffff",
  ];
  switch (fault.kind) {
    case "cut":
      if (fault.a === fault.b) throw new Error("a cut needs two different hosts");
      return [u32(fault.a, ...ip("dst", fault.b)), u32(fault.b, ...ip("dst", fault.a))];
    case "port":
      if (fault.client === fault.server) throw new Error("a port fault needs two different hosts");
      if (!Number.isInteger(fault.port) || fault.port < 1 || fault.port > 65535) {
        throw new Error(`port must be 1–65535, not ${fault.port}`);
      }
      return [
        u32(fault.client, ...ip("dst", fault.server), ...tcpPort("dport", fault.port)),
        u32(fault.server, ...ip("dst", fault.client), ...tcpPort("sport", fault.port)),
      ];
    case "loss": {
      const bpf = (on: HostName, bytecode: string) =>
        toFaultClass(on, PRIO_BPF, "bpf", "bytecode", bytecode);
      // Everything the lossy host sends; on the others, only what they send to it.
      return [
        bpf(fault.host, randomLossBytecode(fault.share)),
        ...HOSTS.filter((h) => h !== fault.host).map((h) =>
          bpf(h, randomLossBytecode(fault.share, net.address[fault.host]))
        ),
      ];
    }
  }
}

/** `ld rand`: the classic-BPF load of a random 32-bit number (SKF_AD_OFF + SKF_AD_RANDOM). */
const LD_RAND = "32 0 0 4294963256";
/**
 * `ld [net + 16]`: the IPv4 destination address, relative to the network header
 * (SKF_NET_OFF + 16), since on egress the packet starts at its Ethernet header.
 */
const LD_DST = "32 0 0 4293918736";

/**
 * A classic-BPF classifier (for `tc filter … bpf bytecode`) that matches a random `share` of the
 * packets, optionally only those to `dst`: it answers -1 ("this filter's class") or 0 (no match).
 */
export function randomLossBytecode(share: number, dst?: string): string {
  if (!(share > 0 && share < 1)) {
    throw new Error(`loss share must be between 0 and 1, not ${share}`);
  }
  // Matches when the random number exceeds the threshold: (2^32 - 1 - threshold) / 2^32 = share.
  const threshold = Math.round((1 - share) * 2 ** 32) - 1;
  const ops = [];
  if (dst !== undefined) {
    // jeq #dst, next, else skip to "ret 0" (the last instruction).
    ops.push(LD_DST, `21 0 3 ${ipToUint(dst)}`);
  }
  ops.push(LD_RAND, `37 0 1 ${threshold}`, "6 0 0 4294967295", "6 0 0 0");
  return `${ops.length},${ops.join(",")}`;
}

/** `a.b.c.d` as an unsigned 32-bit number. */
function ipToUint(address: string): number {
  const octets = address.split(".").map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) {
    throw new Error(`not an IPv4 address: ${address}`);
  }
  return octets.reduce((n, o) => n * 256 + o, 0);
}

/**
 * The command that delays and drops what `host` sends with `sch_netem`, where the kernel has
 * it: a netem queue in place of the pass-all class's default one.
 */
export function netemCommand(net: LabNet, host: HostName, delayMs: number, loss: number): Cmd {
  return inNs(net.ns[host], [
    "tc",
    "qdisc",
    "add",
    "dev",
    ETH,
    "parent",
    "1:10",
    "handle",
    "10:",
    "netem",
    "delay",
    `${delayMs}ms`,
    "loss",
    `${loss * 100}%`,
  ]);
}

/**
 * Without netem, the commands that make pc1's address local inside `host`, so that the host's
 * connections to pc1 reach a delaying relay there (`infra/lab_delay.ts`), which forwards them to
 * {@link LabNet.pc1Alias}.
 */
export function slowCommands(net: LabNet, host: HostName): Cmd[] {
  if (host === "pc1") throw new Error("pc1 cannot be slowed by a relay to itself");
  return [
    // Answer ARP only for the interface's own address: pc2 asking for pc1 must not get pc3.
    inNs(net.ns[host], ["sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1"]),
    ["ip", "-n", net.ns[host], "addr", "add", `${net.address.pc1}/32`, "dev", "lo"],
    // Connections made before would hang until their clients time out: end them now.
    inNs(net.ns[host], ["ss", "-K", "dst", net.address.pc1]),
  ];
}

/** The commands that end every fault: every host's filters, netem queue and relay route removed. */
export function healCommands(net: LabNet): Cmd[] {
  return HOSTS.flatMap((h) => [
    ...[PRIO_U32, PRIO_BPF].map((prio) =>
      inNs(net.ns[h], ["tc", "filter", "del", "dev", ETH, "parent", "1:", "prio", prio])
    ),
    inNs(net.ns[h], ["tc", "qdisc", "del", "dev", ETH, "parent", "1:10", "handle", "10:"]),
    ...(h === "pc1"
      ? []
      : [["ip", "-n", net.ns[h], "addr", "del", `${net.address.pc1}/32`, "dev", "lo"]]),
  ]);
}
