import { Elysia } from "elysia";
import { checkRedirectUris, clientNameProblem } from "../oauth/client-metadata.ts";
import { deleteClient, findClientById, listClients, type OAuthClient, type TokenEndpointAuthMethod } from "../oauth/clients-store.ts";
import { OAuthError } from "../oauth/errors.ts";
import { changeRedirectUris, registerManualClient } from "../oauth/registration.ts";
import { AdminClientsPage, ClientCreatedPage, ClientEditPage, clientTypeChoices, type ClientRow } from "../../views/admin-clients.tsx";
import { MessagePage } from "../../views/message.tsx";
import { adminForPage, adminForPost, type AdminViewer } from "./admin-guard.ts";
import type { CookieJar } from "./cookies.ts";
import { auditContext, field, type WebDeps } from "./context.ts";

// Settings → Connected MCP clients: admins see every client, add one by
// hand (public or confidential), edit redirect URIs, and delete clients.
// Deleting cascades (schema) to pending requests, grants, codes and tokens.

type Status = { status?: number | string };

const rowOf = (c: OAuthClient): ClientRow => ({
  id: c.id,
  name: c.name,
  kind: c.kind,
  redirectUris: c.redirectUris,
  authMethod: c.tokenEndpointAuthMethod,
  createdAt: c.createdAt,
  lastUsedAt: c.lastUsedAt,
});

const noSuchClientPage = () => MessagePage({ title: "No such client", message: "That client does not exist (any more).", link: { href: "/admin/clients", label: "Back to clients" } });

/** Redirect URIs typed one per line, checked like a registration's; a message for people when refused. */
function redirectUrisFromForm(text: string): string[] | string {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (lines.length === 0) return "Enter at least one redirect URI.";
  try {
    return checkRedirectUris(lines);
  } catch (error) {
    if (error instanceof OAuthError) return error.description;
    throw error;
  }
}

export function adminClientsRoutes(web: WebDeps) {
  /** A client this page manages: a service account's client is managed with its account. */
  const clientOnThisPage = (id: string) => {
    const client = findClientById(web.db, id);
    return client && client.kind !== "service" ? client : null;
  };

  const guardPage = (jar: CookieJar, set: Status, path: string) => adminForPage(web, jar, set, path, "clients");
  const guardPost = (request: Request, jar: CookieJar, body: unknown, set: Status) => adminForPost(web, { request, jar, body, set }, "/admin/clients", "clients");

  const listPage = (g: AdminViewer, extra: { error?: string; form?: { name: string; redirectUris: string; type: string } } = {}) =>
    AdminClientsPage({ viewer: g.viewer, csrf: g.csrf, clients: listClients(web.db).filter((c) => c.kind !== "service").map(rowOf), ...extra });

  return new Elysia()
    .onAfterHandle(({ set }) => {
      // Client secrets appear on these pages.
      set.headers["cache-control"] = "no-store";
    })
    .get("/admin/clients", ({ cookie, set }) => {
      const g = guardPage(cookie, set, "/admin/clients");
      return "response" in g ? g.response : listPage(g);
    })
    .post("/admin/clients", ({ body, cookie, request, server, set }) => {
      const g = guardPost(request, cookie, body, set);
      if ("response" in g) return g.response;
      const form = { name: field(body, "name").trim(), redirectUris: field(body, "redirect_uris"), type: field(body, "type") };
      const fail = (error: string) => {
        set.status = 400;
        return listPage(g, { error, form });
      };
      if (!form.name) return fail("Give the client a name.");
      const nameProblem = clientNameProblem(form.name);
      if (nameProblem) return fail(nameProblem);
      const uris = redirectUrisFromForm(form.redirectUris);
      if (typeof uris === "string") return fail(uris);
      if (!clientTypeChoices.some((c) => c.value === form.type)) return fail("Choose Public or Confidential.");
      const { client, secret } = registerManualClient(web.db, { name: form.name, redirectUris: uris, method: form.type as TokenEndpointAuthMethod, now: web.now() });
      web.log.info("client added", { user_id: g.userId, client_id: client.id, auth_method: client.tokenEndpointAuthMethod });
      const detail = { kind: client.kind, name: client.name, auth_method: client.tokenEndpointAuthMethod };
      web.audit.record({ event: "client_registered", outcome: "ok", userId: g.userId, clientId: client.id, ...auditContext(web, { request, server, set }), detail });
      return ClientCreatedPage({ viewer: g.viewer, csrf: g.csrf, name: client.name, clientId: client.id, secret });
    })
    .get("/admin/clients/edit", ({ cookie, set, query }) => {
      const id = typeof query.id === "string" ? query.id : "";
      const g = guardPage(cookie, set, `/admin/clients/edit?id=${encodeURIComponent(id)}`);
      if ("response" in g) return g.response;
      const client = clientOnThisPage(id);
      if (!client) {
        set.status = 404;
        return noSuchClientPage();
      }
      return ClientEditPage({ viewer: g.viewer, csrf: g.csrf, client: rowOf(client) });
    })
    .post("/admin/clients/redirect-uris", ({ body, cookie, request, set, redirect }) => {
      const g = guardPost(request, cookie, body, set);
      if ("response" in g) return g.response;
      const client = clientOnThisPage(field(body, "client_id"));
      if (!client) {
        set.status = 404;
        return noSuchClientPage();
      }
      const text = field(body, "redirect_uris");
      const fail = (error: string) => {
        set.status = 400;
        return ClientEditPage({ viewer: g.viewer, csrf: g.csrf, client: rowOf(client), error, redirectUris: text });
      };
      if (client.kind === "cimd") return fail("This client's redirect URIs come from its metadata document.");
      const uris = redirectUrisFromForm(text);
      if (typeof uris === "string") return fail(uris);
      changeRedirectUris(web.db, client.id, uris);
      web.log.info("client redirect uris changed", { user_id: g.userId, client_id: client.id });
      return redirect("/admin/clients", 303);
    })
    .post("/admin/clients/delete", ({ body, cookie, request, set, redirect }) => {
      const g = guardPost(request, cookie, body, set);
      if ("response" in g) return g.response;
      const id = field(body, "client_id");
      if (!clientOnThisPage(id) || !deleteClient(web.db, id)) {
        set.status = 404;
        return noSuchClientPage();
      }
      web.log.info("client deleted", { user_id: g.userId, client_id: id });
      return redirect("/admin/clients", 303);
    });
}
