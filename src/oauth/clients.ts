import type { Db } from "../db/client.ts";
import { findClientById, type OAuthClient } from "./clients-store.ts";

export interface ClientDeps {
  db: Db;
  now: () => number;
  publicUrl: string;
}

/**
 * The client behind a client_id, or null when there is none. Registered
 * clients (DCR, manual) come from the database.
 */
export async function resolveClient(deps: ClientDeps, clientId: string): Promise<OAuthClient | null> {
  return findClientById(deps.db, clientId);
}
