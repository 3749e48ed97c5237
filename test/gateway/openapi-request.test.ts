import { describe, expect, test } from "bun:test";
import type { Operation, OperationParameter } from "../../src/gateway/openapi/operations.ts";
import { buildRequest } from "../../src/gateway/openapi/request.ts";

// How a call's arguments become the request: pure, no network.

const parameter = (
  name: string,
  location: OperationParameter["in"],
  extra: Partial<OperationParameter> = {},
): OperationParameter => ({
  key: name,
  name,
  in: location,
  style: location === "query" ? "form" : "simple",
  explode: location === "query",
  ...extra,
});

const operation = (path: string, parameters: OperationParameter[], body: Operation["body"] = null): Operation => ({
  name: "op",
  method: "POST",
  path,
  description: "",
  parameters,
  body,
  inputSchema: { type: "object" },
});

const built = (
  op: Operation,
  args: Record<string, unknown>,
  baseUrl = "https://api.example/v1",
  headers: Record<string, string> = {},
) => {
  const request = buildRequest(op, baseUrl, args, headers);
  if (!request.ok) throw new Error(request.message);
  return request;
};

describe("buildRequest", () => {
  test("joins the base URL's path and keeps its query", () => {
    const request = built(
      operation("/pets/{id}", [parameter("id", "path"), parameter("q", "query")]),
      { id: 5, q: "x" },
      "https://api.example/v1/?version=2",
    );
    expect(request.url.href).toBe("https://api.example/v1/pets/5?version=2&q=x");
  });

  test("writes arrays and objects in the parameter's style", () => {
    const op = operation("/s", [
      parameter("tag", "query"),
      parameter("ids", "query", { explode: false }),
      parameter("filter", "query", { style: "deepObject", explode: true }),
      parameter("page", "query"),
    ]);
    const request = built(op, {
      tag: ["a", "b"],
      ids: [1, 2],
      filter: { kind: "cat", age: 3 },
      page: { size: 10, after: "x" },
    });
    expect(request.url.search).toBe("?tag=a&tag=b&ids=1%2C2&filter%5Bkind%5D=cat&filter%5Bage%5D=3&size=10&after=x");
  });

  test("refuses '.' as a path parameter, which would leave the operation's path", () => {
    expect(
      buildRequest(operation("/files/{name}", [parameter("name", "path")]), "https://api.example", { name: "." }, {}),
    ).toEqual({
      ok: false,
      message: 'path parameter name must not be "."',
    });
  });

  test("a missing path parameter is refused", () => {
    expect(
      buildRequest(operation("/files/{name}", [parameter("name", "path")]), "https://api.example", {}, {}),
    ).toEqual({ ok: false, message: "path parameter name is missing" });
  });

  test("the configured headers replace a header parameter of the same name", () => {
    const request = built(
      operation("/", [parameter("X-Api-Key", "header")]),
      { "X-Api-Key": "from-the-caller" },
      undefined,
      { "x-api-key": "configured" },
    );
    expect(request.headers.get("x-api-key")).toBe("configured");
  });

  test("a header parameter with a line break is refused", () => {
    expect(
      buildRequest(
        operation("/", [parameter("X-Trace", "header")]),
        "https://api.example",
        { "X-Trace": "a\r\nInjected: yes" },
        {},
      ),
    ).toEqual({
      ok: false,
      message: "header parameter X-Trace is not a valid header value",
    });
  });

  test("the body is JSON with the document's media type; absent, nothing is sent", () => {
    const op = operation("/pets", [], { mediaType: "application/merge-patch+json", required: false });
    const withBody = built(op, { body: { name: "Rex" } });
    expect([withBody.body, withBody.headers.get("content-type")]).toEqual([
      '{"name":"Rex"}',
      "application/merge-patch+json",
    ]);
    expect(built(op, {}).body).toBeNull();
  });
});
