import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { InsufficientScopeError } from "@modelcontextprotocol/client";
import { detailOf, onlyAuditRow, auditRows } from "../audit/fixture.ts";
import { parseGatewayConfig } from "../../src/gateway/config.ts";
import { permissionDeniedCode } from "../../src/mcp/permission-denied.ts";
import { parsePolicies } from "../../src/mcp/policy-config.ts";
import { createUser } from "../../src/accounts/users.ts";
import { Browser, createTestApp, type TestApp } from "../helpers.ts";
import { connectClient, keyFor, rpc, rpcMessages, structured, userWithKey } from "../mcp/fixture.ts";
import { makeUser } from "../oauth/token-fixture.ts";
import { petsYamlPath, startPetsApi, type PetsApi } from "./openapi/pets-api.ts";
import { textOf, waitFor } from "./upstreams.ts";

// REST APIs behind /mcp from their OpenAPI documents: a real Elysia API with
// its generated 3.1 document ("pets"), the hand-written 3.0 YAML document
// served by that API ("shop") and read from a file ("file"), a file that
// needs base_url ("nobase") and a document that is down at first ("flaky").
// The real MCP client SDK calls them through a test Gatehouse.

const apiToken = "pets-secret-token-0123456789";
const stateOf = (app: TestApp, name: string) => app.gateway!.statuses().find((s) => s.name === name)!;

let elsewhere: { url: string; hits: number; stop(): void };
let api: PetsApi;
let app: TestApp;
beforeAll(async () => {
  const other = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: () => {
      elsewhere.hits++;
      return new Response("stolen");
    },
  });
  elsewhere = { url: `http://127.0.0.1:${other.port}`, hits: 0, stop: () => void other.stop(true) };
  api = startPetsApi(apiToken, elsewhere.url);
  const toml = `
[[upstream]]
name = "pets"
openapi = "${api.url}/openapi/json"
headers = { Authorization = "Bearer \${PETS_TOKEN}" }

[[upstream]]
name = "shop"
openapi = "${api.url}/docs/pets.yaml"
headers = { Authorization = "Bearer \${PETS_TOKEN}" }
include = ["get_*", "addPet"]
exclude = ["get_pets_id"]

[[upstream]]
name = "file"
openapi = "${petsYamlPath}"
base_url = "${api.url}"
headers = { Authorization = "Bearer \${PETS_TOKEN}" }
write = ["get_pets_id"]
hide = ["delete_pets_id"]

[[upstream]]
name = "nobase"
openapi = "${petsYamlPath}"

[[upstream]]
name = "flaky"
openapi = "${api.url}/flaky/openapi.json"
headers = { Authorization = "Bearer \${PETS_TOKEN}" }
`;
  // Argument limits apply to REST tools as to any other: one person may read only the files named public-*.
  const policies = parsePolicies(
    "test.toml",
    `[[policy]]\ntool = "pets__readFile"\nargument = "name"\nallow = ["public-*"]\npeople = ["limited@example.com"]\n`,
  );
  app = await createTestApp({ gateway: parseGatewayConfig("test.toml", toml, { PETS_TOKEN: apiToken }), policies });
  await waitFor(
    () =>
      ["pets", "shop", "file"].every((name) => stateOf(app, name).state === "connected") &&
      stateOf(app, "nobase").state === "failed" &&
      stateOf(app, "flaky").state === "failed",
  );
});
afterAll(async () => {
  await app.close();
  api.stop();
  elsewhere.stop();
});

async function fullClient() {
  return connectClient(app, (await userWithKey(app)).token);
}

const toolsOf = async (prefix: string) =>
  (await (await fullClient()).listTools()).tools.filter((t) => t.name.startsWith(prefix));
const lastRequest = () => api.requests.at(-1)!;

describe("tools from an OpenAPI document", () => {
  test("each operation of the generated 3.1 document is a tool <prefix><operationId>", async () => {
    const names = (await toolsOf("pets__")).map((t) => t.name).sort();
    expect(names).toEqual(
      [
        "comeHome",
        "createPet",
        "deletePet",
        "echoAuthorization",
        "getPet",
        "goAway",
        "listNumbers",
        "listPets",
        "readFile",
        "sayHello",
        "sleep",
      ].map((n) => `pets__${n}`),
    );
  });

  test("GET operations are read tools, POST and DELETE write tools", async () => {
    const hints = Object.fromEntries((await toolsOf("pets__")).map((t) => [t.name, t.annotations?.readOnlyHint]));
    expect([hints.pets__listPets, hints.pets__getPet, hints.pets__createPet, hints.pets__deletePet]).toEqual([
      true,
      true,
      false,
      false,
    ]);
  });

  test("the input schema holds path, query and header parameters, the body, and what is required", async () => {
    const tools = Object.fromEntries((await toolsOf("pets__")).map((t) => [t.name, t]));
    expect(tools.pets__getPet!.inputSchema).toEqual({
      type: "object",
      properties: { id: { type: "number" }, "x-trace": { type: "string" } },
      required: ["id"],
    });
    expect(tools.pets__createPet!.inputSchema.required).toEqual(["body"]);
    expect((tools.pets__createPet!.inputSchema.properties as Record<string, any>).body.required).toEqual(["name"]);
  });

  test("the summary is the title and, with the description, the description", async () => {
    const listPets = (await toolsOf("pets__listPets"))[0]!;
    expect([listPets.title, listPets.description]).toEqual(["List pets", "List pets\n\nEvery pet, newest first."]);
  });

  test("an operation without an operationId is named from its method and path; include and exclude choose by that name", async () => {
    expect((await toolsOf("shop__")).map((t) => t.name).sort()).toEqual(["shop__addPet", "shop__get_pets"]);
  });

  test("the 3.0 document's $refs are resolved, a path-level parameter is required, Authorization is not a parameter", async () => {
    const tools = Object.fromEntries((await toolsOf("file__")).map((t) => [t.name, t]));
    expect(tools.file__get_pets_id!.inputSchema).toEqual({
      type: "object",
      properties: { id: { type: "integer" }, "X-Trace": { type: "string" } },
      required: ["id"],
    });
    expect((tools.file__get_pets!.inputSchema.properties as Record<string, any>).limit).toEqual({
      type: "integer",
      minimum: 1,
      description: "At most this many.",
    });
  });

  test("3.0's nullable becomes a JSON Schema type list, and a recursive schema is cut where it repeats", async () => {
    const addPet = (await toolsOf("file__addPet"))[0]!;
    const body = (addPet.inputSchema.properties as Record<string, any>).body;
    expect(body.properties.tag).toEqual({ type: ["string", "null"] });
    expect(body.properties.parent).toMatchObject({ type: "object", required: ["name"] });
    // Cut at the first repetition, not at the depth limit (which would nest 32 levels).
    expect(JSON.stringify(body).length).toBeLessThan(400);
  });

  test("read, write and hide globs apply to the operation names", async () => {
    const tools = Object.fromEntries((await toolsOf("file__")).map((t) => [t.name, t]));
    expect(tools.file__get_pets_id!.annotations?.readOnlyHint).toBe(false);
    expect(Object.keys(tools)).not.toContain("file__delete_pets_id");
  });
});

describe("a call", () => {
  test("sends query parameters (arrays repeated) and answers with the body as text and structuredContent", async () => {
    const result = await (await fullClient()).callTool({
      name: "pets__listPets",
      arguments: { limit: 2, tag: ["a", "b"] },
    });
    expect(lastRequest()).toMatchObject({ method: "GET", path: "/pets", search: "?limit=2&tag=a&tag=b" });
    const body = { pets: [{ id: 1, name: "Rex", tag: "a" }], limit: 2, tags: ["a", "b"] };
    expect(result.isError).toBeFalsy();
    expect(JSON.parse(textOf(result))).toEqual(body);
    expect(structured(result)).toEqual(body);
  });

  test("substitutes path parameters and sends header parameters", async () => {
    const result = await (await fullClient()).callTool({
      name: "pets__getPet",
      arguments: { id: 7, "x-trace": "t-1" },
    });
    expect(lastRequest()).toMatchObject({ method: "GET", path: "/pets/7" });
    expect(lastRequest().headers["x-trace"]).toBe("t-1");
    expect(structured(result)).toEqual({ id: 7, name: "Rex", trace: "t-1" });
  });

  test("percent-encodes a path parameter, so a slash stays inside its segment", async () => {
    const result = await (await fullClient()).callTool({ name: "pets__readFile", arguments: { name: "a/b c?d" } });
    expect(lastRequest().path).toBe("/files/a%2Fb%20c%3Fd");
    expect(structured(result)).toEqual({ name: "a/b c?d" });
  });

  test("refuses a path parameter of '..' without sending anything", async () => {
    const before = api.requests.length;
    const result = await (await fullClient()).callTool({ name: "pets__readFile", arguments: { name: ".." } });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe('readFile: path parameter name must not be ".."');
    expect(api.requests.length).toBe(before);
  });

  test("sends the JSON body with its content type; a 201 is a success", async () => {
    const result = await (await fullClient()).callTool({
      name: "pets__createPet",
      arguments: { body: { name: "Tom", tag: "cat" } },
    });
    expect(lastRequest()).toMatchObject({ method: "POST", path: "/pets", body: '{"name":"Tom","tag":"cat"}' });
    expect(lastRequest().headers["content-type"]).toBe("application/json");
    expect(result.isError).toBeFalsy();
    expect(structured(result)).toEqual({ id: 3, name: "Tom", tag: "cat" });
  });

  test("a null where the 3.0 document says nullable passes the input schema and reaches the API", async () => {
    const result = await (await fullClient()).callTool({
      name: "file__addPet",
      arguments: { body: { name: "Tom", tag: null } },
    });
    expect(result.isError).toBeFalsy();
    expect(lastRequest().body).toBe('{"name":"Tom","tag":null}');
  });

  test("an empty answer (204) says its status", async () => {
    const result = await (await fullClient()).callTool({ name: "pets__deletePet", arguments: { id: 3 } });
    expect(lastRequest()).toMatchObject({ method: "DELETE", path: "/pets/3" });
    expect([result.isError ?? false, textOf(result)]).toEqual([false, "HTTP 204 No Content"]);
  });

  test("a status of 400 or more is a tool error with the status and the body", async () => {
    const result = await (await fullClient()).callTool({ name: "pets__getPet", arguments: { id: 404 } });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe('HTTP 404 Not Found\n{"error":"no such pet","id":404}');
  });

  test("a JSON array or plain text is text only, without structuredContent", async () => {
    const client = await fullClient();
    const list = await client.callTool({ name: "pets__listNumbers", arguments: {} });
    const hello = await client.callTool({ name: "pets__sayHello", arguments: {} });
    expect([textOf(list), list.structuredContent]).toEqual(["[1,2,3]", undefined]);
    expect([textOf(hello), hello.structuredContent]).toEqual(["hello, plain text", undefined]);
  });

  test("follows a redirect within the API's origin, with the configured headers", async () => {
    const result = await (await fullClient()).callTool({ name: "pets__comeHome", arguments: {} });
    expect(lastRequest()).toMatchObject({ path: "/pets", search: "?limit=1" });
    expect(lastRequest().headers.authorization).toBe(`Bearer ${apiToken}`);
    expect(structured(result)).toMatchObject({ limit: 1 });
  });

  test("refuses a redirect to another origin: a tool error, and nothing reaches it", async () => {
    const result = await (await fullClient()).callTool({ name: "pets__goAway", arguments: {} });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe(
      `pets answered GET /away with a redirect to another origin (${elsewhere.url}), which Gatehouse does not follow`,
    );
    expect(elsewhere.hits).toBe(0);
  });

  test("cancelling the call aborts the API request", async () => {
    const client = await fullClient();
    const controller = new AbortController();
    const before = api.slowAborted;
    const call = client.callTool({ name: "pets__sleep", arguments: { ms: 20_000 } }, { signal: controller.signal });
    await waitFor(() => lastRequest().path === "/slow");
    controller.abort();
    await expect(call).rejects.toThrow();
    await waitFor(() => api.slowAborted === before + 1);
  });
});

describe("the configured headers", () => {
  test("reach the API on every call", async () => {
    await (await fullClient()).callTool({ name: "shop__get_pets", arguments: {} });
    expect(lastRequest().headers.authorization).toBe(`Bearer ${apiToken}`);
  });

  test("are not sent to the document's URL", () => {
    const paths = new Set(api.documentRequests.map((r) => r.path));
    expect(paths).toEqual(new Set(["/openapi/json", "/docs/pets.yaml", "/flaky/openapi.json"]));
    expect(api.documentRequests.every((r) => r.headers.authorization === undefined)).toBe(true);
  });

  test("are not offered as parameters, and no argument replaces them", async () => {
    const tools = await toolsOf("");
    expect(JSON.stringify(tools)).not.toContain(apiToken);
    expect(
      tools.some((t) =>
        Object.keys((t.inputSchema.properties ?? {}) as object).some((k) => k.toLowerCase() === "authorization"),
      ),
    ).toBe(false);
  });

  test("never reach the client, even when the API echoes them", async () => {
    const result = await (await fullClient()).callTool({ name: "pets__echoAuthorization", arguments: {} });
    expect(lastRequest().headers.authorization).toBe(`Bearer ${apiToken}`);
    expect(JSON.stringify(result)).not.toContain(apiToken);
    expect(structured(result)).toEqual({ youSent: "[redacted]" });
  });

  test("never reach the audit log", async () => {
    await (await fullClient()).callTool({ name: "pets__echoAuthorization", arguments: {} });
    await (await fullClient()).callTool({ name: "pets__getPet", arguments: { id: 404 } });
    const rows = await auditRows(app, { upstream: "pets" });
    expect(rows.length).toBeGreaterThan(0);
    expect(JSON.stringify(rows)).not.toContain(apiToken);
  });
});

describe("grants and audit", () => {
  test("a read-only key lists the read tools only", async () => {
    const { token } = await userWithKey(app, "read");
    const names = (await (await connectClient(app, token)).listTools()).tools.map((t) => t.name);
    expect(names).toContain("pets__listPets");
    expect(names).not.toContain("pets__createPet");
  });

  test("a read-only key calling a write operation gets 403 insufficient_scope, and the API sees nothing", async () => {
    const { token } = await userWithKey(app, "read");
    const before = api.requests.length;
    const call = (await connectClient(app, token)).callTool({
      name: "pets__createPet",
      arguments: { body: { name: "x" } },
    });
    await expect(call).rejects.toBeInstanceOf(InsufficientScopeError);
    const res = await rpc(app, token, {
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "pets__createPet", arguments: { body: { name: "x" } } },
    });
    expect(res.status).toBe(403);
    expect(res.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
    expect(api.requests.length).toBe(before);
  });

  test("a key granted pets__deletePet calling pets__createPet gets permission_denied, and the API sees nothing", async () => {
    const user = await makeUser(app);
    const { apiKey, token } = await keyFor(app, user.id, "full");
    const { apiKeys } = app.db.tables;
    await app.db
      .update(apiKeys)
      .set({ tools: ["pets__deletePet"] })
      .where(eq(apiKeys.id, apiKey.id));
    const before = api.requests.length;
    const [body] = await rpcMessages(
      await rpc(app, token, {
        jsonrpc: "2.0",
        id: 2,
        method: "tools/call",
        params: { name: "pets__createPet", arguments: { body: { name: "x" } } },
      }),
    );
    expect(body!.error.code).toBe(permissionDeniedCode);
    expect(body!.error.data).toMatchObject({
      error: "permission_denied",
      tool: "pets__createPet",
      missing: "grant:pets__createPet",
    });
    const deleted = await (await connectClient(app, token)).callTool({ name: "pets__deletePet", arguments: { id: 5 } });
    expect(deleted.isError).toBeFalsy();
    expect(api.requests.slice(before).map((r) => `${r.method} ${r.path}`)).toEqual(["DELETE /pets/5"]);
  });

  test("an admin [[policy]] limits a path parameter: a value outside it is permission_denied, and the API sees nothing", async () => {
    const user = await makeUser(app, { email: "limited@example.com" });
    const { token } = await keyFor(app, user.id, "read");
    const before = api.requests.length;
    const [body] = await rpcMessages(
      await rpc(app, token, {
        jsonrpc: "2.0",
        id: 3,
        method: "tools/call",
        params: { name: "pets__readFile", arguments: { name: "secret" } },
      }),
    );
    expect(body!.error.code).toBe(permissionDeniedCode);
    expect(body!.error.data).toMatchObject({
      error: "permission_denied",
      tool: "pets__readFile",
      missing: "argument:name",
    });
    expect(api.requests.length).toBe(before);
    const allowed = await (await connectClient(app, token)).callTool({
      name: "pets__readFile",
      arguments: { name: "public-notes" },
    });
    expect(allowed.isError).toBeFalsy();
    expect(lastRequest().path).toBe("/files/public-notes");
  });

  test("a call is one audit row: tool, upstream, outcome and arguments", async () => {
    const { apiKey, token } = await userWithKey(app);
    await (await connectClient(app, token)).callTool({ name: "pets__getPet", arguments: { id: 8 } });
    const row = await onlyAuditRow(app, { apiKeyId: apiKey.id, event: "tool_call" });
    expect([row.tool, row.upstream, row.outcome]).toEqual(["pets__getPet", "pets", "ok"]);
    expect(detailOf(row).arguments).toEqual({ id: 8 });
  });

  test("a status of 400 or more is audited as an error with the status", async () => {
    const { apiKey, token } = await userWithKey(app);
    await (await connectClient(app, token)).callTool({ name: "pets__getPet", arguments: { id: 404 } });
    const row = await onlyAuditRow(app, { apiKeyId: apiKey.id, event: "tool_call" });
    expect(row.outcome).toBe("error");
    expect(detailOf(row).error).toStartWith("HTTP 404 Not Found");
  });
});

describe("a document that cannot be read", () => {
  test("a file whose server URL is relative needs base_url, and says so", () => {
    expect(stateOf(app, "nobase")).toMatchObject({
      kind: "openapi",
      state: "failed",
      reason:
        'the OpenAPI document is a file and its first server URL "/" is relative: set base_url in the [[upstream]] table to the API\'s URL',
      tools: 0,
    });
  });

  test("/readyz stays 200 and says why", async () => {
    const res = await fetch(`${app.url}/readyz`);
    expect(res.status).toBe(200);
    const flaky = (await res.json()).upstreams.find((u: { name: string }) => u.name === "flaky");
    expect(flaky).toMatchObject({
      state: "failed",
      reason: `cannot fetch the OpenAPI document ${api.url}/flaky/openapi.json: it answered HTTP 503`,
    });
  });

  test("/admin/upstreams shows it as a REST API with its reason", async () => {
    const password = "correct horse battery staple";
    await createUser(app.db, {
      email: "root@example.com",
      password,
      passwordCost: app.config.passwordHashCost,
      isAdmin: true,
      now: Math.floor(Date.now() / 1000),
    });
    const b = new Browser(app.url);
    const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
    await b.post("/sign-in", { csrf, email: "root@example.com", password });
    const html = await (await b.get("/admin/upstreams")).text();
    const row = html.slice(html.indexOf('<tr data-upstream="nobase" data-state="failed">'));
    expect(row).toMatch(
      /^<tr data-upstream="nobase" data-state="failed"><td>nobase<\/td><td>REST API \(OpenAPI\)<\/td>/,
    );
    expect(row.slice(0, row.indexOf("</tr>"))).toContain("set base_url in the [[upstream]] table");
  });

  test("is tried again, and its tools appear once it can be read", async () => {
    expect((await toolsOf("flaky__")).length).toBe(0);
    api.documentUp = true;
    await waitFor(() => stateOf(app, "flaky").state === "connected");
    expect(stateOf(app, "flaky").reason).toBeNull();
    const result = await (await fullClient()).callTool({ name: "flaky__getPet", arguments: { id: 9 } });
    expect(structured(result)).toMatchObject({ id: 9 });
  });
});

describe("the tool timeout", () => {
  let quick: TestApp;
  beforeAll(async () => {
    const toml = `[[upstream]]\nname = "pets"\nopenapi = "${api.url}/openapi/json"\nheaders = { Authorization = "Bearer ${apiToken}" }\n`;
    quick = await createTestApp({
      env: { GATEHOUSE_TOOL_TIMEOUT: "1" },
      gateway: parseGatewayConfig("test.toml", toml, {}),
    });
    await waitFor(() => stateOf(quick, "pets").state === "connected");
  });
  afterAll(() => quick.close());

  test("a call past GATEHOUSE_TOOL_TIMEOUT is a tool error, audited as timeout, and the API request is aborted", async () => {
    const { apiKey, token } = await userWithKey(quick);
    const before = api.slowAborted;
    const result = await (await connectClient(quick, token)).callTool({
      name: "pets__sleep",
      arguments: { ms: 20_000 },
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe("pets did not answer GET /slow within 1 s");
    expect((await onlyAuditRow(quick, { apiKeyId: apiKey.id, event: "tool_call" })).outcome).toBe("timeout");
    await waitFor(() => api.slowAborted === before + 1);
  });
});
