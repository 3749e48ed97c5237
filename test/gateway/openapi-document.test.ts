import { afterAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadGatewayConfig, type OpenApiUpstreamConfig } from "../../src/gateway/config.ts";
import { Gateway } from "../../src/gateway/gateway.ts";
import { loadDocument } from "../../src/gateway/openapi/document.ts";
import { createLogger } from "../../src/log.ts";
import { tempDir } from "../helpers.ts";
import { waitFor } from "./upstreams.ts";

// Reading an OpenAPI document: what is accepted, the base URL it gives, and
// the reason when it cannot be used (shown on /admin/upstreams and /readyz).

const dir = tempDir("gatehouse-openapi-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = (openapi: string, baseUrl: string | null = null): OpenApiUpstreamConfig => ({
  name: "api",
  kind: "openapi",
  openapi,
  baseUrl,
  headers: {},
  include: [],
  exclude: [],
  prefix: "api__",
  read: [],
  write: [],
  hide: [],
});

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const minimal = (extra = "") => `openapi: 3.1.0\ninfo: { title: t, version: "1" }\n${extra}paths: {}\n`;
const reasonOf = async (openapi: string) => {
  const loaded = await loadDocument(config(openapi));
  if (loaded.ok) throw new Error("expected a failure");
  return loaded.reason;
};

describe("the base URL", () => {
  test("is the first server with its variables' defaults", async () => {
    const path = file(
      "vars.yaml",
      minimal(
        `servers:\n  - url: "https://{region}.api.example/v1"\n    variables: { region: { default: eu } }\n  - url: https://other.example\n`,
      ),
    );
    expect(await loadDocument(config(path))).toMatchObject({ ok: true, baseUrl: "https://eu.api.example/v1" });
  });

  test("is base_url when set, whatever the document says", async () => {
    const path = file("relative.yaml", minimal(`servers: [{ url: /v1 }]\n`));
    expect(await loadDocument(config(path, "https://api.example/v2"))).toMatchObject({
      ok: true,
      baseUrl: "https://api.example/v2",
    });
  });

  test("is a relative server resolved against the document's URL, and / when the document names none", async () => {
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (req) =>
        new Response(new URL(req.url).pathname === "/docs/a.yaml" ? minimal(`servers: [{ url: /api }]\n`) : minimal()),
    });
    try {
      const origin = `http://127.0.0.1:${server.port}`;
      expect(await loadDocument(config(`${origin}/docs/a.yaml`))).toMatchObject({ ok: true, baseUrl: `${origin}/api` });
      expect(await loadDocument(config(`${origin}/docs/b.yaml`))).toMatchObject({ ok: true, baseUrl: `${origin}/` });
    } finally {
      server.stop(true);
    }
  });

  test("a file naming no server needs base_url", async () => {
    expect(await reasonOf(file("none.yaml", minimal()))).toBe(
      "the OpenAPI document is a file and it names no server: set base_url in the [[upstream]] table to the API's URL",
    );
  });
});

describe("a document that cannot be used says why", () => {
  test("a missing file", async () => {
    expect(await reasonOf(join(dir, "missing.yaml"))).toStartWith(
      `cannot read the OpenAPI document ${join(dir, "missing.yaml")}: `,
    );
  });

  test("neither JSON nor YAML", async () => {
    expect(await reasonOf(file("broken.yaml", "openapi: [3.1\n"))).toStartWith(
      "the OpenAPI document is neither JSON nor YAML: ",
    );
  });

  test("Swagger 2.0", async () => {
    expect(
      await reasonOf(file("swagger.json", `{"swagger": "2.0", "info": {"title": "t", "version": "1"}, "paths": {}}`)),
    ).toBe(
      "the document is Swagger 2.0; Gatehouse reads OpenAPI 3.0 and 3.1 (convert it, for example with swagger2openapi)",
    );
  });

  test("another OpenAPI version", async () => {
    expect(await reasonOf(file("v4.yaml", `openapi: 4.0.0\ninfo: { title: t, version: "1" }\npaths: {}\n`))).toBe(
      'the document\'s openapi field is "4.0.0"; Gatehouse reads OpenAPI 3.0 and 3.1',
    );
  });

  test("a $ref to nothing", async () => {
    const text = minimal().replace(
      "paths: {}\n",
      "paths:\n  /a:\n    get:\n      parameters: [{ $ref: '#/components/parameters/Missing' }]\n",
    );
    expect(await reasonOf(file("dangling.yaml", text))).toBe(
      "the OpenAPI document cannot be read: Can't resolve reference: #/components/parameters/Missing",
    );
  });

  test("a $ref to another file is not followed, even when the file exists", async () => {
    file("other.yaml", "Pet: { type: object }\n");
    const text = minimal().replace(
      "paths: {}\n",
      "paths:\n  /a:\n    post:\n      requestBody:\n        content:\n          application/json:\n            schema: { $ref: './other.yaml#/Pet' }\n",
    );
    expect(await reasonOf(file("external.yaml", text))).toBe(
      "the OpenAPI document cannot be read: Can't resolve external reference: ./other.yaml",
    );
  });

  test("an HTTP error status", async () => {
    const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("nope", { status: 404 }) });
    try {
      expect(await reasonOf(`http://127.0.0.1:${server.port}/openapi.json`)).toBe(
        `cannot fetch the OpenAPI document http://127.0.0.1:${server.port}/openapi.json: it answered HTTP 404`,
      );
    } finally {
      server.stop(true);
    }
  });
});

describe("the shipped example (examples/rest-api.toml)", () => {
  // Its "billing" upstream reads examples/billing-openapi.yaml, relative to the example's directory.
  test("its billing document loads, and the include list picks three of its four operations", async () => {
    const example = loadGatewayConfig(join(import.meta.dir, "../../examples/rest-api.toml"), {
      PETS_TOKEN: "t",
      BILLING_API_KEY: "k",
    });
    const billing = example.upstreams.find((u) => u.name === "billing");
    if (billing?.kind !== "openapi") throw new Error("the example has no openapi upstream named billing");
    const gateway = new Gateway({
      config: { upstreams: [billing] },
      log: createLogger(() => {}),
      toolTimeoutSeconds: 5,
    });
    gateway.start();
    try {
      await waitFor(() => gateway.statuses()[0]!.state !== "starting");
      expect(gateway.statuses()[0]).toMatchObject({ kind: "openapi", state: "connected", reason: null });
      const tools = gateway.tools().map((t) => [t.name, t.annotations.readOnlyHint]);
      expect(tools.sort()).toEqual([
        ["billing_createInvoice", false],
        ["billing_getInvoice", true],
        ["billing_listInvoices", true],
      ]);
    } finally {
      await gateway.stop();
    }
  });
});
