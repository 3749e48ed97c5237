// A parsed JSON value that is an object (not null, not an array): what
// JSON-RPC messages, params, results and OpenAPI documents are read as.

export type JsonObject = Record<string, unknown>;

export const isObject = (value: unknown): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value);
