/**
 * `compose.yaml` kept in step with the rest of the repository without a Docker engine (there is
 * none on this project's machines): every service's command is a task of deno.json, every
 * published port is the README's, the Kafka image is the broker version of infra/pom.xml and the
 * Deno image (Dockerfile) is `.deno-version`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "yaml";

const ROOT = join(import.meta.dirname!, "..");
const read = (file: string) => Deno.readTextFile(join(ROOT, file));

interface Service {
  image?: string;
  build?: string;
  command?: string;
  restart?: string;
  environment?: Record<string, string>;
  ports?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}

const compose = parse(await read("compose.yaml")) as { services: Record<string, Service> };
const services = compose.services;
const tasks = Object.keys(
  (JSON.parse(await read("deno.json")) as { tasks: Record<string, string> }).tasks,
);
const readme = await read("README.md");

/** The ports the README gives each component. */
const README_PORTS: Record<string, number[]> = {
  kafka: [9092],
  registry: [8443],
  central: [7000, 8080],
  weather: [8090],
};

Deno.test("compose: every service that runs project code runs a task of deno.json", () => {
  for (const [name, service] of Object.entries(services)) {
    if (service.image !== undefined) continue;
    const command = service.command ?? "";
    const used = [...command.matchAll(/deno task ([\w:-]+)/g)].map((m) => m[1]);
    assert.ok(used.length > 0, `${name} runs a deno task`);
    for (const task of used) assert.ok(tasks.includes(task), `${name}: task ${task} exists`);
    assert.doesNotMatch(command, /\|\|\s*true/, `${name} hides no failure`);
  }
});

Deno.test("compose: CPs and drivers are services, scalable, with the admin key where needed", () => {
  for (const name of ["cp", "driver"]) {
    assert.ok(services[name], `a ${name} service`);
    assert.equal(services[name].ports, undefined, `${name} publishes no port, so it scales`);
    assert.match(services[name].command ?? "", /\$\(hostname\)/, `${name} ids differ per replica`);
  }
  for (const name of ["registry", "central", "cp"]) {
    assert.match(
      services[name].environment?.REGISTRY_ADMIN_KEY ?? "",
      /^\$\{REGISTRY_ADMIN_KEY:\?/,
      `${name} gets the Registry admin key, which must be set`,
    );
  }
});

Deno.test("compose: every published port is the README's", () => {
  const published: Record<string, number[]> = {};
  for (const [name, service] of Object.entries(services)) {
    for (const mapping of service.ports ?? []) {
      const [host, container] = mapping.split(":").map(Number);
      assert.equal(host, container, `${name} publishes ${mapping} under its own number`);
      (published[name] ??= []).push(container);
    }
  }
  assert.deepEqual(published, README_PORTS);
  for (const port of Object.values(README_PORTS).flat()) {
    assert.ok(readme.includes(`:${port}`), `the README names :${port}`);
  }
});

Deno.test("compose: Kafka is infra/pom.xml's version and Deno is .deno-version", async () => {
  const pom = (await read("infra/pom.xml")).match(/<kafka\.version>([^<]+)</)?.[1];
  assert.ok(pom, "infra/pom.xml names a Kafka version");
  assert.equal(services.kafka.image, `apache/kafka:${pom}`);
  const deno = (await read(".deno-version")).trim();
  assert.match(await read("Dockerfile"), new RegExp(`^FROM denoland/deno:${deno}$`, "m"));
});

Deno.test("compose: restart policies everywhere, health checks on what others wait for", () => {
  for (const [name, service] of Object.entries(services)) {
    assert.ok(service.restart, `${name} has a restart policy`);
    for (const [dep, { condition }] of Object.entries(service.depends_on ?? {})) {
      if (condition === "service_healthy") {
        assert.ok(services[dep].healthcheck, `${name} waits for ${dep}'s health check`);
      }
    }
  }
  for (const name of ["kafka", "registry", "central", "weather"]) {
    assert.ok(services[name].healthcheck, `${name} has a health check`);
  }
});
