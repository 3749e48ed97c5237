import type { Caller } from "./caller.ts";
import {
  type AnswerHeaders,
  jsonAnswer,
  type PlainRequest,
  plainRequest,
  sseText,
  type TextAnswer,
} from "./direct-exchange.ts";
import { visibleTools } from "./gating.ts";
import type { CatalogueSnapshot, ToolCatalogue } from "./server.ts";

// tools/list answered from the SDK's own earlier answer. What the SDK lists
// depends on the catalogue (a snapshot, replaced whole when an upstream's
// tools change), on what this caller may see (gating.ts) and on the revision
// (the 2025 codec wraps non-object output schemas, the 2026-07-28 one stamps
// resultType, cache fields and serverInfo); nothing else in a plain request
// (direct-exchange.ts) changes it. So the first such request of each kind
// goes to the SDK, its result is kept as JSON text, and the next ones get
// the same bytes with their own id. A cursor, a log level or any other
// _meta goes to the SDK every time.

const listParams = new Set(["_meta"]);

/** Distinct visible tool sets kept per snapshot and revision: callers differ by scope and tool permissions only. */
const maxKinds = 256;

export interface ListingRequest {
  plain: PlainRequest;
  kinds: Map<string, string>;
  key: string;
}

export function createToolsListCache(catalogue: ToolCatalogue) {
  const bySnapshot = new WeakMap<CatalogueSnapshot, Map<string, string>>();

  const kindsOf = (snapshot: CatalogueSnapshot) => {
    let kinds = bySnapshot.get(snapshot);
    if (!kinds) bySnapshot.set(snapshot, (kinds = new Map()));
    return kinds;
  };

  const answer = (plain: PlainRequest, result: string, headers: AnswerHeaders): TextAnswer => {
    const message = `{"result":${result},"jsonrpc":"2.0","id":${JSON.stringify(plain.id)}}`;
    return plain.envelope ? jsonAnswer(message, headers) : sseText(message, headers);
  };

  return {
    /** A plain tools/list of this caller, with its cached answer when there is one. */
    lookup(
      request: Request,
      body: unknown,
      caller: Caller,
      headers: AnswerHeaders,
    ): { listing: ListingRequest; cached: TextAnswer | null } | null {
      const plain = plainRequest(request, body, "tools/list", listParams);
      if (plain === null) return null;
      const snapshot = catalogue.current;
      const visible = visibleTools(caller, snapshot.tools).map((tool) => tool.name);
      const key = `${plain.revision}\n${visible.join("\n")}`;
      const kinds = kindsOf(snapshot);
      const result = kinds.get(key);
      return { listing: { plain, kinds, key }, cached: result === undefined ? null : answer(plain, result, headers) };
    },

    /** The SDK's answer, kept when it is one plain result for this request; returned readable again. */
    async remember(listing: ListingRequest, response: Response): Promise<Response> {
      if (response.status !== 200) return response;
      const text = await response.text();
      const data = listing.plain.envelope ? text : /^event: message\ndata: (.*)\n\n$/s.exec(text)?.[1];
      try {
        const message = data === undefined ? null : JSON.parse(data);
        if (message?.id === listing.plain.id && typeof message.result === "object" && message.result !== null) {
          if (listing.kinds.size >= maxKinds) listing.kinds.clear();
          listing.kinds.set(listing.key, JSON.stringify(message.result));
        }
      } catch {
        // Not one JSON message: nothing to keep.
      }
      return new Response(text, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    },
  };
}
