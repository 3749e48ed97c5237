import { type ClientDeps, isClientIdUrl, resolveMetadataDocumentClient } from "./cimd.ts";
import { findClientById, type OAuthClient } from "./clients-store.ts";

export type { ClientDeps };

/**
 * The client behind a client_id, or null when there is none. Registered
 * clients (DCR, manual) come from the database; a client_id that is a URL
 * is a Client ID Metadata Document, fetched and cached (see cimd.ts).
 */
export async function resolveClient(deps: ClientDeps, clientId: string): Promise<OAuthClient | null> {
  if (isClientIdUrl(clientId)) return resolveMetadataDocumentClient(deps, clientId);
  return findClientById(deps.db, clientId);
}
