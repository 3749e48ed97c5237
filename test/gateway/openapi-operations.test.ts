import { describe, expect, test } from "bun:test";
import type { OpenApiDocument } from "../../src/gateway/openapi/document.ts";
import { derivedName, operationsOf } from "../../src/gateway/openapi/operations.ts";

// A dereferenced document's operations as tools: pure, no I/O.

const doc = (paths: Record<string, Record<string, unknown>>): OpenApiDocument => ({ openapi: "3.1.1", paths });

describe("operationsOf", () => {
  test("an operation without an operationId is named from its method and path", () => {
    expect([
      derivedName("get", "/pets/{id}/photos"),
      derivedName("post", "/"),
      derivedName("put", "/v1/a.b~c"),
    ]).toEqual(["get_pets_id_photos", "post", "put_v1_a.b_c"]);
  });

  test("a name two parameters share (or one and body) becomes <in>_<name>", () => {
    const { operations } = operationsOf(
      doc({
        "/items/{id}": {
          put: {
            parameters: [
              { name: "id", in: "path", required: true, schema: { type: "string" } },
              { name: "id", in: "query", schema: { type: "string" } },
              { name: "body", in: "query", schema: { type: "string" } },
            ],
            requestBody: { content: { "application/json": { schema: { type: "object" } } } },
          },
        },
      }),
      new Set(),
    );
    const [put] = operations;
    expect(put!.parameters.map((p) => p.key)).toEqual(["path_id", "query_id", "query_body"]);
    expect(Object.keys(put!.inputSchema.properties as object)).toEqual(["path_id", "query_id", "query_body", "body"]);
    expect(put!.inputSchema.required).toEqual(["path_id"]);
  });

  test("an operation's own parameter replaces the path-level one of the same name and location", () => {
    const { operations } = operationsOf(
      doc({
        "/a": {
          parameters: [{ name: "q", in: "query", schema: { type: "string" } }],
          get: { parameters: [{ name: "q", in: "query", required: true, schema: { type: "integer" } }] },
        },
      }),
      new Set(),
    );
    expect(operations[0]!.inputSchema).toEqual({
      type: "object",
      properties: { q: { type: "integer" } },
      required: ["q"],
    });
  });

  test("header parameters the configured headers set, and cookie parameters, are not offered", () => {
    const parameters = [
      { name: "X-Api-Key", in: "header", required: true, schema: { type: "string" } },
      { name: "session", in: "cookie", schema: { type: "string" } },
      { name: "X-Trace", in: "header", schema: { type: "string" } },
    ];
    const { operations } = operationsOf(doc({ "/a": { get: { parameters } } }), new Set(["x-api-key"]));
    expect(operations[0]!.parameters.map((p) => p.name)).toEqual(["X-Trace"]);
  });

  test("a required request body that is not JSON leaves the operation out, with why", () => {
    const { operations, leftOut } = operationsOf(
      doc({
        "/upload": {
          post: {
            operationId: "upload",
            requestBody: { required: true, content: { "multipart/form-data": { schema: { type: "object" } } } },
          },
        },
      }),
      new Set(),
    );
    expect([operations, leftOut]).toEqual([
      [],
      [{ name: "upload", reason: "its request body is required and not JSON" }],
    ]);
  });
});
