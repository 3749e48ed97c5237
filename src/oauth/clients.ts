import type { Db } from "../db/client.ts";
import type { Logger } from "../log.ts";
import { isClientIdUrl, resolveMetadataDocumentClient } from "./cimd.ts";
import { findClientById, type OAuthClient } from "./clients-store.ts";

export interface ClientDeps {
  db: Db;
  now: () => number;
  publicUrl: string;
  /** Hears why a client_id URL's metadata document was refused. */
  log?: Logger;
  /** Time limit for fetching a metadata document; 5 s when unset. */
  cimdTimeoutMs?: number;
  /**
   * For requests about existing authorizations (token, revocation): a known client
   * keeps its last good metadata document for 7 days when a refetch fails
   * (cimd.ts). A new authorization leaves it unset and re-checks the document.
   */
  useLastGoodCopy?: boolean;
}

/**
 * The client behind a client_id, or null when there is none. Registered
 * clients (DCR, manual) come from the database; a client_id that is a URL
 * is a Client ID Metadata Document, fetched and cached (see cimd.ts).
 */
export async function resolveClient(deps: ClientDeps, clientId: string): Promise<OAuthClient | null> {
  if (isClientIdUrl(clientId)) return resolveMetadataDocumentClient(deps, clientId);
  return findClientById(deps.db, clientId);
}
