import type { SignedIn } from "../accounts/sessions.ts";
import type { Db } from "../db/client.ts";
import { findApiKeyWithUser } from "../keys/api-keys-store.ts";
import type { WriteToolChoice } from "../mcp/tool-grants.ts";
import { supportedScopes, type Scope } from "./scopes.ts";

/** What a session may grant: the scopes and write tools (null: every one). */
export interface Ceiling {
  scopes: Scope[];
  tools: readonly string[] | null;
}

/** Everything, or no more than the API key the session was opened with (its scopes and write tools). */
export function consentCeiling(db: Db, current: SignedIn): Ceiling {
  if (current.session.apiKeyId === null) return { scopes: supportedScopes, tools: null };
  const apiKey = findApiKeyWithUser(db, current.session.apiKeyId)?.apiKey;
  const words = apiKey?.scope.split(" ") ?? [];
  return { scopes: supportedScopes.filter((s) => words.includes(s)), tools: apiKey ? apiKey.tools : [] };
}

/**
 * The consent page's choices for a request: Full only when the request asks
 * for mcp:write and the session may grant it; the write tools on offer, none
 * ticked (each is the person's own choice, never a default).
 */
export function consentChoices(ceiling: Ceiling, requested: readonly Scope[], offered: WriteToolChoice[]) {
  const canWrite = requested.includes("mcp:write");
  const keyAllowsWrite = ceiling.scopes.includes("mcp:write");
  return {
    access: {
      offerFull: canWrite && keyAllowsWrite,
      note: canWrite && !keyAllowsWrite ? "You signed in with a read-only API key, so you can give read-only access." : undefined,
    },
    writeTools: {
      offered,
      ticked: [],
      note: ceiling.tools === null ? undefined : "You signed in with an API key limited to some write tools, so only those are offered.",
    },
  };
}
