import type { Store } from "../db/store.ts";
import { findClientById } from "../oauth/clients-store.ts";
import { oauthPaths } from "../oauth/paths.ts";

/**
 * The registered name of the app whose authorization a sign-in continues
 * (`next` is an /oauth/authorize request), for "to continue to Claude";
 * undefined for any other `next`, or a client not (yet) stored. Only the
 * database is read: a metadata-document client is fetched by the
 * authorization endpoint itself, after sign-in.
 */
export async function appNameOfNext(db: Store, next: string): Promise<string | undefined> {
  const url = new URL(next, "http://gatehouse.invalid");
  if (url.pathname !== oauthPaths.authorize) return undefined;
  const ids = url.searchParams.getAll("client_id");
  if (ids.length !== 1) return undefined;
  return (await findClientById(db, ids[0]!))?.name;
}
