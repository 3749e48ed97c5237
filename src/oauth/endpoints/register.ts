import { createRateLimiter } from "../../security/rate-limit.ts";
import { parseRegistrationRequest } from "../client-metadata.ts";
import { InvalidRequest, TooManyRequests } from "../errors.ts";
import { oauthPaths } from "../paths.ts";
import { registerDynamicClient, registrationResponse } from "../registration.ts";
import { oauthEndpoint, type EndpointDeps } from "./endpoint.ts";
import type { AppDeps } from "../../http/deps.ts";
import type { RequestContext } from "../../http/request-context.ts";

// RFC 7591 Dynamic Client Registration: POST a JSON body, get 201 and the
// registered metadata. Open to anyone (MCP clients register themselves), so
// it is limited per client address. Every answer carries CORS headers so
// browser clients (the MCP Inspector) can read errors too.

export const registrationsPerHour = 30;
const maxBodyBytes = 64 * 1024;

/** RFC 7591 §3.1: the request is a JSON object sent as application/json. */
async function readJsonBody(request: Request): Promise<unknown> {
  const type = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/json") throw new InvalidRequest("Send the registration as application/json.");
  const text = await request.text();
  if (text.length > maxBodyBytes) throw new InvalidRequest("The request body is too large.");
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidRequest("The JSON body could not be parsed.");
  }
}

export function registerRoutes(web: EndpointDeps & Pick<AppDeps, "metrics" | "rateCounters">, context: RequestContext) {
  const perAddress = createRateLimiter({
    limit: registrationsPerHour,
    windowSeconds: 3600,
    now: web.now,
    counters: web.rateCounters,
    prefix: "registration",
  });
  const noStore = { "cache-control": "no-store", pragma: "no-cache" };

  // The rate limit comes first: the body is read (and parsed as RFC 7591 JSON, not a form) only within it.
  return oauthEndpoint(
    web,
    context,
    oauthPaths.register,
    { body: "none", clientAuth: "none", cors: true },
    async ({ request, clientIp: address, audit }) => {
      const taken = await perAddress.take(address);
      if (!taken.allowed) {
        web.metrics.rateLimited("registration");
        throw new TooManyRequests("Too many registrations from this address. Try again later.", taken.resetSeconds);
      }
      const reg = parseRegistrationRequest(await readJsonBody(request));
      const { client, secret, reused } = await registerDynamicClient(web.db, reg, web.now());
      web.log.info(reused ? "client registration reused" : "client registered", {
        client_id: client.id,
        kind: client.kind,
        auth_method: client.tokenEndpointAuthMethod,
      });
      const detail = { kind: client.kind, name: client.name, auth_method: client.tokenEndpointAuthMethod, reused };
      audit.record({ event: "client_registered", outcome: "ok", clientId: client.id, detail });
      return Response.json(registrationResponse(client, reg, secret), { status: 201, headers: noStore });
    },
  );
}
