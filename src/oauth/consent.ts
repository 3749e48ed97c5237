import type { SignedIn } from "../accounts/sessions.ts";
import { accessScopes } from "../keys/api-keys.ts";
import { accessOffer, consentDefault, toolGroups, type AccessOffer, type Ceiling } from "../mcp/access.ts";
import { inheritLimits, limitItems, storedLimits, type ArgumentLimits } from "../mcp/argument-gates.ts";
import { policySourcesFor, type PolicyRule } from "../mcp/policy-config.ts";
import type { ToolCatalogue } from "../mcp/server.ts";
import { writeToolChoices } from "../mcp/tool-permissions.ts";
import { accessFromForm } from "../web/access-form.ts";
import { ceilingOf, field, fieldValues } from "../web/context.ts";
import { shownChoice, type AccessFieldsProps, type LimitItem } from "../../views/access.tsx";
import type { ConsentProps } from "../../views/consent.tsx";
import type { Store } from "../db/store.ts";
import { findUserById } from "../accounts/users-store.ts";
import { metadataDocumentHost } from "./authorize-response.ts";
import type { OAuthClient } from "./clients-store.ts";
import type { Scope } from "./scopes.ts";

// The consent form's access part, shared by the authorization endpoint and
// the device page: what this person may give this app, what the page starts
// with (Allow as served succeeds), and what an answer grants.

/**
 * Who the app is, as the page shows it: its name, where its details came
 * from, and for a client a person registered on /clients, that person. Any
 * member may register a client and name it "Claude"; the owner's address is
 * what tells it from the real one.
 */
export async function consentClient(db: Store, client: OAuthClient): Promise<ConsentProps["client"]> {
  const owner = client.ownerUserId === null ? null : await findUserById(db, client.ownerUserId);
  return {
    name: client.name,
    kind: client.kind,
    metadataHost: metadataDocumentHost(client),
    registeredBy: owner?.email ?? null,
  };
}

/** What the page offers: Full only when the app asked for mcp:write and the session may give it. */
export function consentOffer(current: SignedIn, catalogue: ToolCatalogue, requested: readonly Scope[]): AccessOffer {
  return accessOffer(ceilingOf(current), writeToolChoices(catalogue.tools), requested.includes("mcp:write"));
}

/** The form's access fields: the defaults, or what was posted when the page is drawn again after an error. */
export function consentAccessFields(
  current: SignedIn,
  offer: AccessOffer,
  requested: readonly Scope[],
  posted?: unknown,
): AccessFieldsProps {
  const initial = consentDefault(offer);
  const choice = posted === undefined ? initial.choice : shownChoice(field(posted, "access"), offer);
  const ticked = posted === undefined ? initial.ticked : fieldValues(posted, "tool");
  return { offer, groups: toolGroups(offer.tools), choice, ticked, ...noteFor(current, offer, requested) };
}

/** Why a key session is offered less than the app asked for. */
function noteFor(current: SignedIn, offer: AccessOffer, requested: readonly Scope[]): { note?: string } {
  if (current.apiKey === null || !requested.includes("mcp:write") || offer.full) return {};
  if (!offer.chosen) return { note: "You signed in with a Read-only API key, so you can give Read-only access." };
  return { note: "You signed in with an API key limited to some write tools, so only those are offered." };
}

/**
 * The argument limits a connection approved now would have, for the page to
 * say: the admin [[policy]] rules naming this person (on top of whatever
 * the app is given), and the limits of the API key the session was opened
 * with, which the connection inherits.
 */
export function consentLimits(
  current: SignedIn,
  policies: readonly PolicyRule[],
): { policy: LimitItem[]; key: LimitItem[] } {
  const policy = policySourcesFor(policies, current.user).flatMap((source) => limitItems(source.limits));
  return { policy, key: limitItems(current.apiKey?.argumentLimits ?? null) };
}

export type ConsentAnswer =
  | { ok: true; scopes: Scope[]; tools: string[] | null; argumentLimits: ArgumentLimits | null }
  | { ok: false; error: string };

/**
 * What Allow grants: the requested scopes cut to the chosen level, the
 * write tools (null: every one, also ones added later; [] for Read-only),
 * and, in a session opened with a key that has argument limits, those
 * limits on the granted tools: a connection never allows more than its key.
 */
export function consentAnswer(
  body: unknown,
  offer: AccessOffer,
  requested: readonly Scope[],
  ceiling: Ceiling,
): ConsentAnswer {
  const read = accessFromForm(body, offer);
  if (!read.ok) return read;
  const allowed = accessScopes[read.access.level].split(" ");
  const scopes = requested.filter((scope) => allowed.includes(scope));
  if (!scopes.includes("mcp:write")) return { ok: true, scopes, tools: [], argumentLimits: null };
  const tools = read.access.tools === null ? null : [...read.access.tools];
  return { ok: true, scopes, tools, argumentLimits: storedLimits(inheritLimits({}, ceiling?.limits ?? null, tools)) };
}
