import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { settings } from "../../src/config.ts";

// examples/docker-compose.postgres.yml and its Caddyfile (docs/operations.md
// "Several instances on PostgreSQL"). No Docker engine or Caddy runs here, so
// this holds the files to what Gatehouse reads and what the page says.

const examples = join(import.meta.dir, "../../examples");

interface Service {
  build?: string;
  image: string;
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: string[] };
  volumes?: string[];
}

const compose = Bun.YAML.parse(readFileSync(join(examples, "docker-compose.postgres.yml"), "utf8")) as {
  services: Record<string, Service>;
};
const gatehouses = Object.entries(compose.services).filter(([, s]) => s.build !== undefined);
const caddyfileMount = compose.services.caddy!.volumes!.find((v) => v.endsWith(":/etc/caddy/Caddyfile:ro"))!;
const caddyfile = readFileSync(join(examples, caddyfileMount.split(":")[0]!), "utf8");

describe("examples/docker-compose.postgres.yml", () => {
  test("builds two Gatehouse instances from the repository's Dockerfile", () => {
    expect(gatehouses.map(([name]) => name)).toEqual(["gatehouse-a", "gatehouse-b"]);
    for (const [, service] of gatehouses) expect(existsSync(join(examples, service.build!, "Dockerfile"))).toBe(true);
  });

  test("gives both the same PostgreSQL URL and public URL, behind a trusted proxy", () => {
    const [a, b] = gatehouses.map(([, s]) => s.environment!);
    expect(a).toEqual(b!);
    expect(a!.GATEHOUSE_DATABASE_URL).toStartWith("postgres://gatehouse:");
    expect(a!.GATEHOUSE_DATABASE_URL).toEndWith("@postgres:5432/gatehouse");
    expect(a!.GATEHOUSE_PUBLIC_URL).toStartWith("https://");
    expect(a!.GATEHOUSE_TRUST_PROXY).toBe("true");
  });

  test("sets only variables Gatehouse reads", () => {
    const known = new Set(Object.values(settings).map((s) => s.env));
    const names = gatehouses.flatMap(([, s]) => Object.keys(s.environment!));
    expect(names.filter((name) => !known.has(name))).toEqual([]);
  });

  test("starts the instances once PostgreSQL answers its health check", () => {
    expect(compose.services.postgres!.healthcheck!.test.join(" ")).toContain("pg_isready");
    for (const [, service] of gatehouses)
      expect(service.depends_on).toEqual({ postgres: { condition: "service_healthy" } });
  });
});

describe("examples/Caddyfile.postgres", () => {
  test("balances both instances on the port they listen on", () => {
    const port = settings.port.default;
    const upstreams = caddyfile.match(/^\s*reverse_proxy (.+) \{$/m)![1]!.split(" ");
    expect(upstreams).toEqual(gatehouses.map(([name]) => `${name}:${port}`));
  });

  test("keeps one credential on one instance, and checks /readyz", () => {
    expect(caddyfile).toMatch(/^\s*lb_policy header Authorization\b/m);
    expect(caddyfile).toMatch(/^\s*health_uri \/readyz$/m);
  });

  test("serves the domain the compose file gives it, with balanced braces", () => {
    expect(compose.services.caddy!.environment!.GATEHOUSE_DOMAIN).toBeDefined();
    expect(caddyfile).toMatch(/^\{\$GATEHOUSE_DOMAIN\} \{$/m);
    const code = caddyfile.replace(/#[^\n]*/g, "");
    expect(code.split("{").length).toBe(code.split("}").length);
  });
});
