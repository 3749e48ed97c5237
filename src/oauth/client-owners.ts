import type { Store } from "../db/store.ts";
import { transaction } from "../db/transaction.ts";
import {
  clientWithOwner,
  findClientWithOwner,
  listClientsWithOwners,
  removeClient,
  type ClientWithOwner,
} from "./clients-store.ts";

// Who manages which client on the clients pages. An admin (/admin/clients)
// manages every client but service accounts' (those are managed with their
// account); a person (/clients) manages only the clients they registered
// there. Another person's client is "no such client" to them, so its id
// reveals nothing.

/** null: every client (an admin); a user id: that person's own clients. */
export type ClientOwnerScope = string | null;

export function clientsInScope(db: Store, owner: ClientOwnerScope): Promise<ClientWithOwner[]> {
  return listClientsWithOwners(db, owner);
}

/** The client with this id when it is in scope, else null. */
export async function clientInScope(db: Store, owner: ClientOwnerScope, id: string): Promise<ClientWithOwner | null> {
  return inScope(await findClientWithOwner(db, id), owner);
}

function inScope(found: ClientWithOwner | null, owner: ClientOwnerScope): ClientWithOwner | null {
  if (!found || found.client.kind === "service") return null;
  return owner === null || found.client.ownerUserId === owner ? found : null;
}

/**
 * Deletes the client with this id when it is in scope; false when it is not
 * (or no longer exists). The scope check and the delete are one transaction.
 * Deleting a client cascades to its pending requests, authorizations, codes
 * and tokens.
 */
export function deleteClientInScope(db: Store, owner: ClientOwnerScope, id: string): Promise<boolean> {
  return transaction(db, function* (tx) {
    const found = inScope(yield* clientWithOwner(tx, id), owner);
    return found !== null && (yield* removeClient(tx, found.client.id));
  });
}
