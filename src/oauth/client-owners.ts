import type { Store } from "../db/store.ts";
import { findClientWithOwner, listClientsWithOwners, type ClientWithOwner } from "./clients-store.ts";

// Who manages which client on the clients pages. An admin (/admin/clients)
// manages every client but service accounts' (those are managed with their
// account); a person (/clients) manages only the clients they registered
// there. Another person's client is "no such client" to them, so its id
// reveals nothing.

/** null: every client (an admin); a user id: that person's own clients. */
export type ClientOwnerScope = string | null;

export function clientsInScope(db: Store, owner: ClientOwnerScope): ClientWithOwner[] {
  return listClientsWithOwners(db, owner);
}

/** The client with this id when it is in scope, else null. */
export function clientInScope(db: Store, owner: ClientOwnerScope, id: string): ClientWithOwner | null {
  const found = findClientWithOwner(db, id);
  if (!found || found.client.kind === "service") return null;
  return owner === null || found.client.ownerUserId === owner ? found : null;
}
