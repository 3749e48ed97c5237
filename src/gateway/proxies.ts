import type { Client, Prompt, Resource, ResourceTemplateType as ResourceTemplate } from "@modelcontextprotocol/client";
import {
  isInputRequiredResult,
  ProtocolError,
  ProtocolErrorCode,
  UriTemplate,
  type CompleteRequest,
  type InputRequiredResult,
  type McpServer,
  type ServerCapabilities,
  type ServerContext,
} from "@modelcontextprotocol/server";
import { callerOf } from "../mcp/caller.ts";
import { clientOf, failureOf } from "./forward.ts";
import type { RoundState, Rounds } from "./round-state.ts";
import type { Upstream } from "./upstream.ts";
import { callerRound, upstreamRoundParams } from "./upstream-rounds.ts";

// Resources and prompts of the upstreams, served on /mcp. Resource URIs pass
// through as they are and are routed back by an index; prompt names get the
// upstream's prefix, like its tools. Subscriptions and completions go to the
// upstream that owns the resource, template or prompt. All need mcp:read.
// A 2026-07-28 upstream's input-required rounds of prompts/get and
// resources/read pass through as those of tools/call do (upstream-rounds.ts).

/** The combined lists and routes, rebuilt when an upstream's lists change, never per request. */
export interface FeatureIndex {
  resources: Resource[];
  resourceTemplates: ResourceTemplate[];
  prompts: Prompt[];
  byUri: ReadonlyMap<string, Upstream>;
  templates: { template: UriTemplate; upstream: Upstream }[];
  byPrompt: ReadonlyMap<string, { upstream: Upstream; name: string }>;
}

export function buildFeatureIndex(upstreams: readonly Upstream[]): FeatureIndex {
  const index: FeatureIndex = {
    resources: [],
    resourceTemplates: [],
    prompts: [],
    byUri: new Map(),
    templates: [],
    byPrompt: new Map(),
  };
  const byUri = index.byUri as Map<string, Upstream>;
  const byPrompt = index.byPrompt as Map<string, { upstream: Upstream; name: string }>;
  for (const upstream of upstreams) {
    for (const resource of upstream.lists.resources) {
      if (byUri.has(resource.uri)) continue; // The first upstream to offer a URI serves it.
      byUri.set(resource.uri, upstream);
      index.resources.push(resource);
    }
    for (const template of upstream.lists.resourceTemplates) {
      index.resourceTemplates.push(template);
      try {
        index.templates.push({ template: new UriTemplate(template.uriTemplate), upstream });
      } catch {
        // An unparsable template is listed but routes nothing.
      }
    }
    for (const prompt of upstream.lists.prompts) {
      const name = `${upstream.config.prefix}${prompt.name}`;
      if (byPrompt.has(name)) continue;
      byPrompt.set(name, { upstream, name: prompt.name });
      index.prompts.push({ ...prompt, name });
    }
  }
  return index;
}

/**
 * What the upstreams add to /mcp. `logging` lets callers set a level and
 * receive the log messages of their calls (forward.ts); `completions` and
 * `resources.subscribe` are passed on to the upstream that owns the prompt,
 * template or resource, and answered as it answers.
 */
export const proxyCapabilities: ServerCapabilities = {
  resources: { listChanged: true, subscribe: true },
  prompts: { listChanged: true },
  completions: {},
  logging: {},
};

function requireRead(ctx: ServerContext): void {
  const caller = callerOf(ctx.http?.authInfo);
  if (!caller?.scopes.includes("mcp:read"))
    throw new ProtocolError(ProtocolErrorCode.InvalidRequest, "Reading resources and prompts needs scope mcp:read.");
}

function routeUri(index: FeatureIndex, uri: string): Upstream | null {
  return index.byUri.get(uri) ?? index.templates.find((t) => t.template.match(uri) !== null)?.upstream ?? null;
}

function routeUriOrFail(index: FeatureIndex, uri: string): Upstream {
  const upstream = routeUri(index, uri);
  if (!upstream)
    throw new ProtocolError(ProtocolErrorCode.ResourceNotFound, `No upstream offers the resource ${uri}.`, { uri });
  return upstream;
}

/** The upstream (and its own name for the prompt) a completion/complete is about. */
function routeCompletion(
  index: FeatureIndex,
  ref: CompleteRequest["params"]["ref"],
): { upstream: Upstream; ref: CompleteRequest["params"]["ref"] } {
  if (ref.type === "ref/prompt") {
    const route = index.byPrompt.get(ref.name);
    if (!route) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown prompt: ${ref.name}`);
    return { upstream: route.upstream, ref: { ...ref, name: route.name } };
  }
  const owner = index.templates.find((t) => t.template.toString() === ref.uri)?.upstream ?? index.byUri.get(ref.uri);
  if (!owner) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown resource template: ${ref.uri}`);
  return { upstream: owner, ref };
}

async function forward<T>(
  upstream: Upstream,
  what: string,
  timeoutMs: number,
  ctx: ServerContext,
  send: (client: Client, options: { signal: AbortSignal; timeout: number }) => Promise<T>,
): Promise<T> {
  const connected = clientOf(upstream);
  if (!connected.ok) throw new ProtocolError(ProtocolErrorCode.InternalError, connected.reason);
  const { client } = connected;
  // In flight, so that a request the upstream asks meanwhile is not taken for a tool call's (Upstream.ask).
  const asker = {
    ask: (request: { method: string }) =>
      Promise.reject(
        new ProtocolError(
          ProtocolErrorCode.InvalidRequest,
          `Gatehouse passes ${request.method} on during tools/call only.`,
        ),
      ),
  };
  upstream.askers.add(asker);
  try {
    return await send(client, { signal: ctx.mcpReq.signal, timeout: timeoutMs });
  } catch (error) {
    if (error instanceof ProtocolError) throw error; // The upstream's own JSON-RPC error (not found, bad params) passes through.
    throw new ProtocolError(
      ProtocolErrorCode.InternalError,
      failureOf(upstream, what, timeoutMs, error, ctx.mcpReq.signal) ?? `${what} was cancelled`,
    );
  } finally {
    upstream.askers.delete(asker);
  }
}

/**
 * The state of a retried round of `target` (a prompt's name, a resource's
 * URI), sealed for this caller (the SDK checked it before the handler); a
 * round of another target, or brought by a 2025 request, is refused.
 */
function roundStateFor(ctx: ServerContext, target: string): RoundState | null {
  const state = ctx.mcpReq.requestState<RoundState>() ?? null;
  if (state !== null && (state.kind !== "upstream" || state.target !== target || ctx.mcpReq.envelope === undefined)) {
    throw new ProtocolError(ProtocolErrorCode.InvalidParams, "Invalid or expired requestState", {
      reason: "invalid_request_state",
    });
  }
  return state;
}

/** The upstream's answer as the caller's: an input-required round goes to a 2026-07-28 caller with its state sealed. */
function answerOf<T>(
  rounds: Rounds,
  upstream: Upstream,
  what: string,
  result: T | InputRequiredResult,
  ctx: ServerContext,
  target: string,
): T | Promise<InputRequiredResult> {
  if (!isInputRequiredResult(result)) return result as T;
  if (ctx.mcpReq.envelope === undefined)
    throw new ProtocolError(
      ProtocolErrorCode.InternalError,
      `upstream ${upstream.name} asked for input during ${what}, which a 2025 client served statelessly cannot give.`,
    );
  return callerRound(rounds, result, ctx, target);
}

/** Puts the resources/*, prompts/* and completion handlers on one serving instance (cheap: closures over the current index). */
export function installProxies(
  server: McpServer,
  currentIndex: () => FeatureIndex,
  timeoutMs: number,
  rounds: Rounds,
): void {
  const low = server.server;
  low.setRequestHandler("resources/list", (_request, ctx) => {
    requireRead(ctx);
    return { resources: currentIndex().resources };
  });
  low.setRequestHandler("resources/templates/list", (_request, ctx) => {
    requireRead(ctx);
    return { resourceTemplates: currentIndex().resourceTemplates };
  });
  low.setRequestHandler("resources/read", async (request, ctx) => {
    requireRead(ctx);
    const { uri } = request.params;
    const state = roundStateFor(ctx, uri);
    const upstream = routeUriOrFail(currentIndex(), uri);
    const what = `resources/read ${uri}`;
    const result = await forward(upstream, what, timeoutMs, ctx, (client, options) =>
      client.readResource(
        { uri, ...upstreamRoundParams(client, ctx, state) },
        { ...options, allowInputRequired: true },
      ),
    );
    return answerOf(rounds, upstream, what, result, ctx, uri);
  });
  // Subscriptions share the upstream's one connection, so they are counted (Upstream.subscribe);
  // its resources/updated goes to the 2026-07-28 listeners (subscriptions/listen) of that URI.
  low.setRequestHandler("resources/subscribe", async (request, ctx) => {
    requireRead(ctx);
    const { uri } = request.params;
    const upstream = routeUriOrFail(currentIndex(), uri);
    if (!upstream.client()?.getServerCapabilities()?.resources?.subscribe) {
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        `Upstream ${upstream.name} does not support resource subscriptions.`,
      );
    }
    await forward(upstream, `resources/subscribe ${uri}`, timeoutMs, ctx, (client, options) =>
      upstream.subscribe(client, uri, options),
    );
    return {};
  });
  low.setRequestHandler("resources/unsubscribe", async (request, ctx) => {
    requireRead(ctx);
    const { uri } = request.params;
    const upstream = routeUriOrFail(currentIndex(), uri);
    await forward(upstream, `resources/unsubscribe ${uri}`, timeoutMs, ctx, (client, options) =>
      upstream.unsubscribe(client, uri, options),
    );
    return {};
  });
  low.setRequestHandler("completion/complete", (request, ctx) => {
    requireRead(ctx);
    const { upstream, ref } = routeCompletion(currentIndex(), request.params.ref);
    // An upstream without completions has no suggestions: an empty list, as the spec allows.
    if (!upstream.client()?.getServerCapabilities()?.completions) return { completion: { values: [] } };
    const params = { ...request.params, ref };
    return forward(upstream, `completion/complete`, timeoutMs, ctx, (client, options) =>
      client.complete(params, options),
    );
  });
  low.setRequestHandler("prompts/list", (_request, ctx) => {
    requireRead(ctx);
    return { prompts: currentIndex().prompts };
  });
  low.setRequestHandler("prompts/get", async (request, ctx) => {
    requireRead(ctx);
    const { name } = request.params;
    const state = roundStateFor(ctx, name);
    const route = currentIndex().byPrompt.get(name);
    if (!route) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown prompt: ${name}`);
    const params = { name: route.name, ...(request.params.arguments && { arguments: request.params.arguments }) };
    const what = `prompts/get ${route.name}`;
    const result = await forward(route.upstream, what, timeoutMs, ctx, (client, options) =>
      client.getPrompt(
        { ...params, ...upstreamRoundParams(client, ctx, state) },
        { ...options, allowInputRequired: true },
      ),
    );
    return answerOf(rounds, route.upstream, what, result, ctx, name);
  });
}
