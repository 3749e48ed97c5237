import { dereference, normalize, upgrade } from "@scalar/openapi-parser";
import { readLimited, SafeFetchError } from "../../security/ssrf-fetch.ts";
import type { OpenApiUpstreamConfig } from "../config.ts";
import { fetchSameOrigin, RedirectRefusedError } from "./same-origin-fetch.ts";

// An OpenAPI upstream's document: read from its URL or file, parsed (JSON or
// YAML), upgraded to 3.1 (so a 3.0 schema's `nullable`, boolean
// `exclusiveMinimum` and `example` become the JSON Schema that MCP clients and
// the SDK's validator read) and dereferenced, all by @scalar/openapi-parser.
// Only references within the document are followed: the parser is given no
// file or network access, so a document cannot make Gatehouse read a local
// file or fetch another URL. Any failure is a reason in words, for
// /admin/upstreams and /readyz.

/** The dereferenced document, as far as Gatehouse reads it. */
export interface OpenApiDocument {
  openapi: string;
  servers?: { url?: unknown; variables?: Record<string, { default?: unknown }> }[];
  paths?: Record<string, Record<string, unknown>>;
}

export type LoadedDocument = { ok: true; document: OpenApiDocument; baseUrl: string } | { ok: false; reason: string };

const fetchTimeoutMs = 30_000;
// GitHub's REST API description, one of the largest in use, is about 12 MB as JSON.
const maxDocumentBytes = 32 * 1024 * 1024;

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

export async function loadDocument(config: OpenApiUpstreamConfig): Promise<LoadedDocument> {
  const read = await readDocument(config.openapi);
  if (!read.ok) return read;
  const parsed = parseDocument(read.text);
  if (!parsed.ok) return parsed;
  const baseUrl = config.baseUrl ?? serverUrl(parsed.document, read.url);
  if (typeof baseUrl !== "string") return baseUrl;
  return { ok: true, document: parsed.document, baseUrl };
}

type ReadDocument = { ok: true; text: string; url: URL | null } | { ok: false; reason: string };

/** The document's text, and its URL (null for a file). The configured headers are for the API and are not sent here. */
async function readDocument(location: string): Promise<ReadDocument> {
  if (!location.startsWith("http://") && !location.startsWith("https://")) {
    try {
      const file = Bun.file(location);
      if (file.size > maxDocumentBytes)
        return {
          ok: false,
          reason: `cannot read the OpenAPI document ${location}: larger than ${maxDocumentBytes} bytes`,
        };
      return { ok: true, text: await file.text(), url: null };
    } catch (error) {
      return { ok: false, reason: `cannot read the OpenAPI document ${location}: ${describe(error)}` };
    }
  }
  const url = new URL(location);
  const fail = (why: string): ReadDocument => ({
    ok: false,
    reason: `cannot fetch the OpenAPI document ${url.href}: ${why}`,
  });
  try {
    const headers = new Headers({ accept: "application/json, application/yaml;q=0.9, */*;q=0.5" });
    const res = await fetchSameOrigin(url, { method: "GET", headers, signal: AbortSignal.timeout(fetchTimeoutMs) });
    if (!res.ok) {
      await res.body?.cancel();
      return fail(`it answered HTTP ${res.status}`);
    }
    return { ok: true, text: new TextDecoder().decode(await readLimited(res, maxDocumentBytes)), url };
  } catch (error) {
    if (error instanceof DOMException && error.name === "TimeoutError")
      return fail(`no complete answer within ${fetchTimeoutMs / 1000} s`);
    if (error instanceof RedirectRefusedError) return fail(`it answered with ${error.message}`);
    if (error instanceof SafeFetchError) return fail(error.message);
    return fail(describe(error));
  }
}

function parseDocument(text: string): { ok: true; document: OpenApiDocument } | { ok: false; reason: string } {
  let raw: unknown;
  try {
    raw = normalize(text);
  } catch (error) {
    return { ok: false, reason: `the OpenAPI document is neither JSON nor YAML: ${describe(error).split("\n")[0]}` };
  }
  const version = typeof raw === "object" && raw !== null ? (raw as { openapi?: unknown; swagger?: unknown }) : null;
  if (version === null) return { ok: false, reason: "the OpenAPI document is not a JSON or YAML object" };
  if (version.swagger !== undefined)
    return {
      ok: false,
      reason:
        "the document is Swagger 2.0; Gatehouse reads OpenAPI 3.0 and 3.1 (convert it, for example with swagger2openapi)",
    };
  if (typeof version.openapi !== "string" || !/^3\.[01](\.|$)/.test(version.openapi)) {
    return {
      ok: false,
      reason: `the document's openapi field is ${JSON.stringify(version.openapi ?? null)}; Gatehouse reads OpenAPI 3.0 and 3.1`,
    };
  }
  const upgraded = upgrade(raw as Record<string, unknown>).specification;
  const { schema, errors } = dereference(upgraded as Record<string, unknown>);
  if (errors && errors.length > 0) {
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more problems)` : "";
    return { ok: false, reason: `the OpenAPI document cannot be read: ${errors[0]!.message}${more}` };
  }
  if (!schema) return { ok: false, reason: "the OpenAPI document cannot be read" };
  return { ok: true, document: schema as unknown as OpenApiDocument };
}

/**
 * The base URL from the document: its first server (OpenAPI 3.1, OpenAPI
 * Object, `servers`: "/" when none is given), with its variables' defaults, resolved against the
 * document's URL. A file has no URL to resolve a relative server against.
 */
function serverUrl(document: OpenApiDocument, documentUrl: URL | null): string | { ok: false; reason: string } {
  const server = document.servers?.[0];
  const written = typeof server?.url === "string" ? server.url : "/";
  const url = written.replace(/\{([^}]+)\}/g, (whole, name: string) => {
    const value = server?.variables?.[name]?.default;
    return typeof value === "string" ? value : whole;
  });
  const needed = "set base_url in the [[upstream]] table to the API's URL";
  if (documentUrl === null && !/^https?:\/\//i.test(url)) {
    const what = server ? `its first server URL "${written}" is relative` : "it names no server";
    return { ok: false, reason: `the OpenAPI document is a file and ${what}: ${needed}` };
  }
  let resolved: URL;
  try {
    resolved = new URL(url, documentUrl ?? undefined);
  } catch {
    return { ok: false, reason: `the document's first server URL "${written}" is not a URL: ${needed}` };
  }
  if (resolved.protocol !== "http:" && resolved.protocol !== "https:")
    return { ok: false, reason: `the document's first server URL "${written}" is not http(s): ${needed}` };
  return resolved.href;
}
