import assert from "node:assert/strict";
import { FramedConn, FramedConnError } from "../shared/framed_conn.ts";
import { ACK, ENQ } from "../shared/framing.ts";
import { build, monitorToCentralSchema } from "../shared/messages.ts";
import { withLogRecords } from "../shared/log.ts";
import { ReportedLateness } from "../shared/loop_lag.ts";
import { connectTls } from "../shared/tls.ts";
import { createDevCertificates } from "../infra/dev_ca.ts";
import {
  type Link,
  LINKS_LAG_EVERY_MS,
  MonitorLinks,
  type PreLoginRefusal,
} from "./monitor_links.ts";

const CERTS = await createDevCertificates();

/** Polls `check` until it holds (at most 5 s). */
async function waitUntil(check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail("timed out");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const HEARTBEAT = build(monitorToCentralSchema, "HEARTBEAT", { seq: 1 });

/** Monitor links on a free loopback port, the links they open, and a way to connect. */
async function withLinks(
  options: {
    maxConnections?: number;
    openTimeoutMs?: number;
    loginTimeoutMs?: number;
    maxUnauthenticatedPerAddress?: number;
    onRefused?: (ip: string, reason: PreLoginRefusal) => void;
    lateness?: ReportedLateness;
  },
  test: (
    links: MonitorLinks,
    next: () => Promise<Link>,
    connect: () => Promise<FramedConn>,
  ) => Promise<void>,
): Promise<void> {
  const links = await MonitorLinks.start({
    hostname: "127.0.0.1",
    port: 0,
    tls: CERTS.server,
    openTimeoutMs: options.openTimeoutMs ?? 2000,
    loginTimeoutMs: options.loginTimeoutMs ?? 60_000,
    maxConnections: options.maxConnections ?? 10,
    maxUnauthenticatedPerAddress: options.maxUnauthenticatedPerAddress ?? 10,
    onRefused: options.onRefused,
    lateness: options.lateness,
  });
  const arrived: Link[] = [];
  const waiting: ((link: Link) => void)[] = [];
  links.serve((link) => {
    const waiter = waiting.shift();
    if (waiter === undefined) arrived.push(link);
    else waiter(link);
  });
  const next = () => {
    const link = arrived.shift();
    return link !== undefined
      ? Promise.resolve(link)
      : new Promise<Link>((resolve) => waiting.push(resolve));
  };
  const clients: FramedConn[] = [];
  const connect = async () => {
    const tls = await connectTls("127.0.0.1", links.addr.port, [CERTS.ca.cert]);
    const client = await FramedConn.client(tls, { ackTimeoutMs: 2000 });
    clients.push(client);
    return client;
  };
  try {
    await test(links, next, connect);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await links.stopAccepting();
    links.terminate();
  }
}

Deno.test("monitor links: a monitor's valid messages arrive in order, an invalid one is NACKed", async () => {
  await withLinks({}, async (_links, next, connect) => {
    const monitor = await connect();
    const link = await next();
    assert.equal(link.ip, "127.0.0.1");
    assert.match(link.peer, /^127\.0\.0\.1:\d+$/);
    await monitor.send(HEARTBEAT);
    await assert.rejects(monitor.send({ type: "HEARTBEAT", v: 1, extra: "'; DROP TABLE cps;--" }));
    const health = build(monitorToCentralSchema, "HEALTH", { engine: "KO" });
    // The NACKs dropped the connection: a second monitor carries on.
    const second = await connect();
    const secondLink = await next();
    await second.send(health);
    const messages = link[Symbol.asyncIterator]();
    assert.deepEqual((await messages.next()).value, HEARTBEAT);
    await assert.rejects(messages.next(), (e) => e instanceof FramedConnError);
    assert.deepEqual((await secondLink[Symbol.asyncIterator]().next()).value, health);
  });
});

Deno.test("monitor links: Central's sends reach the monitor, close ends it with EOT", async () => {
  await withLinks({}, async (_links, next, connect) => {
    const monitor = await connect();
    const link = await next();
    const incoming = monitor[Symbol.asyncIterator]();
    const logout = { v: 1, type: "LOGOUT", reason: "shutdown", retryable: true };
    await link.send(logout);
    assert.deepEqual((await incoming.next()).value, logout);
    await link.close();
    assert.equal((await incoming.next()).done, true);
    await link.closed;
    await assert.rejects(
      link.send(logout),
      (e) => e instanceof FramedConnError && e.code === "closed",
    );
  });
});

Deno.test("monitor links: a monitor's EOT ends the link cleanly, a dropped socket with an error", async () => {
  await withLinks({}, async (_links, next, connect) => {
    const polite = await connect();
    const politeLink = await next();
    await polite.close();
    assert.equal((await politeLink[Symbol.asyncIterator]().next()).done, true);

    const tls = await connectTls("127.0.0.1", _links.addr.port, [CERTS.ca.cert]);
    const rude = await FramedConn.client(tls);
    const rudeLink = await next();
    tls.close(); // no EOT
    await assert.rejects(
      rudeLink[Symbol.asyncIterator]().next(),
      (e) => e instanceof FramedConnError && e.code === "peer-vanished",
    );
    await rudeLink.closed;
    await rude.closed;
  });
});

Deno.test("monitor links: a plaintext client's ENQ gets no ACK, only the end of the connection", async () => {
  await withLinks({}, async (links) => {
    const tcp = await Deno.connect({ hostname: "127.0.0.1", port: links.addr.port });
    await tcp.write(Uint8Array.of(ENQ));
    const received: number[] = [];
    const buffer = new Uint8Array(1024);
    for (let n = await tcp.read(buffer); n !== null; n = await tcp.read(buffer).catch(() => null)) {
      received.push(...buffer.subarray(0, n));
    }
    tcp.close();
    assert.ok(!received.includes(ACK), "a plaintext opening must never be ACKed");
  });
});

Deno.test("monitor links: a client that does not trust the CA cannot connect", async () => {
  await withLinks({}, async (links) => {
    const other = await createDevCertificates();
    await assert.rejects(connectTls("127.0.0.1", links.addr.port, [other.ca.cert]));
  });
});

Deno.test("monitor links: an address at its cap of connections not logged in is closed at once; a login frees a place", async () => {
  const refused: [string, PreLoginRefusal][] = [];
  await withLinks(
    { maxUnauthenticatedPerAddress: 2, onRefused: (ip, reason) => refused.push([ip, reason]) },
    async (links, next, connect) => {
      await connect();
      const first = await next();
      const silent = await Deno.connect({ hostname: "127.0.0.1", port: links.addr.port });
      try {
        await assert.rejects(connect(), "a third one, before its TLS handshake");
        await waitUntil(() => refused.length === 1);
        assert.deepEqual(refused, [["127.0.0.1", "too_many_unauthenticated"]]);
        links.loggedIn(first.id); // logged in: no longer counts against its address
        // The socket thread hears of the login before the next accept: retry until it has.
        await waitUntil(async () => {
          try {
            await connect();
            return true;
          } catch {
            return false;
          }
        });
      } finally {
        silent.close();
      }
    },
  );
});

Deno.test("monitor links: a connection not logged in by the deadline is closed and reported", async () => {
  const refused: [string, PreLoginRefusal][] = [];
  await withLinks(
    { loginTimeoutMs: 300, onRefused: (ip, reason) => refused.push([ip, reason]) },
    async (links, next, connect) => {
      const slow = await connect();
      const slowLink = await next();
      const quick = await connect();
      const quickLink = await next();
      links.loggedIn(quickLink.id);
      await slowLink.closed;
      await slow.closed;
      assert.deepEqual(refused, [["127.0.0.1", "login_timeout"]]);
      await quick.send(HEARTBEAT); // the logged-in one stays
      assert.deepEqual((await quickLink[Symbol.asyncIterator]().next()).value, HEARTBEAT);
    },
  );
});

Deno.test("monitor links: an opening beyond the connection limit is refused", async () => {
  await withLinks({ maxConnections: 1 }, async (_links, next, connect) => {
    await connect();
    await next();
    await assert.rejects(connect(), (e) => e instanceof FramedConnError && e.code === "refused");
  });
});

Deno.test("monitor links: after stopAccepting no one connects, open links carry on", async () => {
  await withLinks({}, async (links, next, connect) => {
    const monitor = await connect();
    const link = await next();
    await links.stopAccepting();
    await assert.rejects(connect());
    await monitor.send(HEARTBEAT);
    assert.deepEqual((await link[Symbol.asyncIterator]().next()).value, HEARTBEAT);
  });
});

Deno.test("monitor links: terminate ends open links as vanished", async () => {
  await withLinks({}, async (links, next, connect) => {
    const monitor = await connect();
    const link = await next();
    links.terminate();
    await assert.rejects(
      link[Symbol.asyncIterator]().next(),
      (e) => e instanceof FramedConnError && e.code === "peer-vanished",
    );
    await assert.rejects(link.send(HEARTBEAT), (e) => e instanceof FramedConnError);
    await monitor.closed; // the thread's sockets went with it
  });
});

Deno.test("monitor links: the socket thread's log records are written by this thread", async () => {
  await withLogRecords("info", async (records) => {
    await withLinks({ openTimeoutMs: 100 }, async (links) => {
      const silent = await Deno.connect({ hostname: "127.0.0.1", port: links.addr.port });
      try {
        // No ENQ: the opening times out and the thread logs why.
        const deadline = Date.now() + 3000;
        while (!records.some((r) => String(r.rawMessage).includes("opening"))) {
          if (Date.now() > deadline) assert.fail("no log record came from the socket thread");
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      } finally {
        silent.close();
      }
    });
    const record = records.find((r) => String(r.rawMessage).includes("opening"));
    assert.equal(record?.category.join("."), "evcharging.framing");
  });
});

Deno.test("monitor links: a port in use is a clear error", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    await assert.rejects(
      MonitorLinks.start({
        hostname: "127.0.0.1",
        port: taken.addr.port,
        tls: CERTS.server,
        openTimeoutMs: 1000,
        loginTimeoutMs: 1000,
        maxConnections: 1,
        maxUnauthenticatedPerAddress: 1,
      }),
      new RegExp(`could not listen on 127\\.0\\.0\\.1:${taken.addr.port}`),
    );
  } finally {
    taken.close();
  }
});

Deno.test("monitor links: the socket thread reports its loop's lateness, so an overdue report ends", async () => {
  // Expected since 10 s ago and none came: 10 s late until the thread's first report arrives.
  const lateness = new ReportedLateness(LINKS_LAG_EVERY_MS, 3000, Date.now() - 10_000);
  assert.ok(lateness.lagMs(Date.now()) > 9000);
  await withLinks({ lateness }, async () => {
    await waitUntil(() => lateness.lagMs(Date.now()) < 1000);
  });
});
