// A schema from a dereferenced OpenAPI document as a tool's input schema
// must be plain JSON: a recursive schema (a Pet whose `parent` is a Pet)
// dereferences into a cycle, which JSON cannot hold. The copy cuts each
// cycle where it closes, and very deep nesting, with `{}` (any value): the
// API still checks what it gets. Pure: no I/O.

export type JsonSchema = Record<string, unknown>;

const maxDepth = 32;

export function toolSchema(schema: unknown): JsonSchema {
  const copy = plainCopy(schema, new Set(), 0);
  return typeof copy === "object" && copy !== null && !Array.isArray(copy) ? (copy as JsonSchema) : {};
}

function plainCopy(value: unknown, ancestors: Set<object>, depth: number): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (ancestors.has(value) || depth >= maxDepth) return {};
  ancestors.add(value);
  const copy = Array.isArray(value)
    ? value.map((item) => plainCopy(item, ancestors, depth + 1))
    : Object.fromEntries(Object.entries(value).map(([key, item]) => [key, plainCopy(item, ancestors, depth + 1)]));
  ancestors.delete(value);
  return copy;
}
