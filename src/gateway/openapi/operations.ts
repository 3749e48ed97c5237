import type { OpenApiDocument } from "./document.ts";
import { toolSchema, type JsonSchema } from "./schema.ts";
import { isObject, type JsonObject } from "../../json-object.ts";

// The operations of a dereferenced OpenAPI document, each what one tool
// needs: its name, how to build its request, and its input schema (path,
// query and header parameters as top-level arguments, the JSON request body
// as `body`). Pure: no I/O.

export type ParameterLocation = "path" | "query" | "header";

export interface OperationParameter {
  /** The argument that carries it: its name, or `<in>_<name>` when two parameters (or one and `body`) share a name. */
  key: string;
  name: string;
  in: ParameterLocation;
  /** How arrays and objects are written (OpenAPI 3.1, Parameter Object, style and explode; defaults: form + explode for query, simple for path and header). */
  style: string;
  explode: boolean;
}

export interface Operation {
  /** The operationId, or a stable name from method and path when it has none (`get_pets_id` for GET /pets/{id}). */
  name: string;
  /** Upper case, as sent. */
  method: string;
  /** The path template, as the document writes it (`/pets/{id}`). */
  path: string;
  title?: string;
  description: string;
  parameters: OperationParameter[];
  /** The JSON request body's media type, when the operation takes one. */
  body: { mediaType: string; required: boolean } | null;
  inputSchema: JsonSchema;
}

const methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;
const jsonMediaType = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
// OpenAPI 3.1, Parameter Object, `name`: header parameters with these names are ignored (the
// request's own Accept and Content-Type, and Authorization, which belongs to
// security schemes: here, the configured headers).
const ignoredHeaders = new Set(["accept", "content-type", "authorization"]);

/** The name of an operation without an operationId: method and path, in the characters MCP allows in a tool name. */
export function derivedName(method: string, path: string): string {
  return [method, ...path.split(/[^A-Za-z0-9_.-]+/)].filter((part) => part !== "").join("_");
}

/**
 * Every operation, in document order. `configuredHeaders` (lower case) are
 * set by Gatehouse on every request, so a header parameter of the same name
 * is not offered to clients. Operations whose request body is required and
 * not JSON cannot be called and are returned as left out, with why.
 */
export function operationsOf(
  document: OpenApiDocument,
  configuredHeaders: ReadonlySet<string>,
): { operations: Operation[]; leftOut: { name: string; reason: string }[] } {
  const operations: Operation[] = [];
  const leftOut: { name: string; reason: string }[] = [];
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    if (!isObject(item)) continue;
    for (const method of methods) {
      const operation = item[method];
      if (!isObject(operation)) continue;
      const name = typeof operation.operationId === "string" ? operation.operationId : derivedName(method, path);
      const body = jsonBody(operation.requestBody);
      if (body === "unusable") {
        leftOut.push({ name, reason: "its request body is required and not JSON" });
        continue;
      }
      const parameters = parametersOf(item.parameters, operation.parameters, configuredHeaders, body !== null);
      operations.push({
        name,
        method: method.toUpperCase(),
        path,
        ...(typeof operation.summary === "string" && { title: operation.summary }),
        description: descriptionOf(operation, method, path),
        parameters: parameters.map((p) => p.parameter),
        body: body && { mediaType: body.mediaType, required: body.required },
        inputSchema: inputSchemaOf(parameters, body),
      });
    }
  }
  return { operations, leftOut };
}

function descriptionOf(operation: JsonObject, method: string, path: string): string {
  const parts = [operation.summary, operation.description].filter(
    (part): part is string => typeof part === "string" && part.trim() !== "",
  );
  return parts.length > 0 ? parts.join("\n\n") : `${method.toUpperCase()} ${path}`;
}

interface JsonBody {
  mediaType: string;
  required: boolean;
  schema: unknown;
  description?: string;
}

/** The request body's JSON media type and schema; null without a usable one; "unusable" when a body is required and none is JSON. */
function jsonBody(requestBody: unknown): JsonBody | null | "unusable" {
  if (!isObject(requestBody) || !isObject(requestBody.content)) return null;
  const required = requestBody.required === true;
  const mediaType = Object.keys(requestBody.content).find((type) => jsonMediaType.test(type));
  if (mediaType === undefined) return required ? "unusable" : null;
  const media = requestBody.content[mediaType];
  const description = typeof requestBody.description === "string" ? requestBody.description : undefined;
  return {
    mediaType,
    required,
    schema: isObject(media) ? media.schema : undefined,
    ...(description !== undefined && { description }),
  };
}

interface ParameterWithSchema {
  parameter: OperationParameter;
  required: boolean;
  schema: JsonSchema;
}

/** Path-level parameters, overridden by the operation's own of the same name and location (OpenAPI 3.1, Path Item Object, `parameters`). */
function parametersOf(
  pathLevel: unknown,
  own: unknown,
  configuredHeaders: ReadonlySet<string>,
  hasBody: boolean,
): ParameterWithSchema[] {
  const byLocation = new Map<string, JsonObject>();
  for (const list of [pathLevel, own]) {
    if (!Array.isArray(list)) continue;
    for (const p of list)
      if (isObject(p) && typeof p.name === "string" && typeof p.in === "string") byLocation.set(`${p.in}:${p.name}`, p);
  }
  const usable = [...byLocation.values()].filter((p) => {
    if (p.in === "header")
      return (
        !ignoredHeaders.has((p.name as string).toLowerCase()) &&
        !configuredHeaders.has((p.name as string).toLowerCase())
      );
    return p.in === "path" || p.in === "query"; // Cookie parameters are not sent.
  });
  const counts = new Map<string, number>();
  for (const p of usable) counts.set(p.name as string, (counts.get(p.name as string) ?? 0) + 1);
  return usable.map((p) => {
    const name = p.name as string;
    const location = p.in as ParameterLocation;
    const shared = counts.get(name)! > 1 || (hasBody && name === "body");
    const style = typeof p.style === "string" ? p.style : location === "query" ? "form" : "simple";
    return {
      parameter: {
        key: shared ? `${location}_${name}` : name,
        name,
        in: location,
        style,
        explode: typeof p.explode === "boolean" ? p.explode : style === "form",
      },
      required: location === "path" || p.required === true,
      schema: parameterSchema(p),
    };
  });
}

/** A parameter's schema (or its `content`'s), with its description. */
function parameterSchema(parameter: JsonObject): JsonSchema {
  const content = isObject(parameter.content) ? Object.values(parameter.content)[0] : undefined;
  const schema = toolSchema(parameter.schema ?? (isObject(content) ? content.schema : undefined));
  if (typeof parameter.description === "string" && schema.description === undefined)
    schema.description = parameter.description;
  return schema;
}

function inputSchemaOf(parameters: ParameterWithSchema[], body: JsonBody | null): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const { parameter, required: needed, schema } of parameters) {
    properties[parameter.key] = schema;
    if (needed) required.push(parameter.key);
  }
  if (body) {
    const schema = toolSchema(body.schema);
    if (body.description !== undefined && schema.description === undefined) schema.description = body.description;
    properties.body = schema;
    if (body.required) required.push("body");
  }
  return { type: "object", properties, ...(required.length > 0 && { required }) };
}
