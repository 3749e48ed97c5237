import type { Config } from "../config.ts";
import { openDatabase } from "./client.ts";
import { openPostgres } from "./postgres.ts";
import type { Store } from "./store.ts";

/** The store the configuration names: PostgreSQL when GATEHOUSE_DATABASE_URL says so, else the SQLite file in the data directory. */
export function openStore(config: Pick<Config, "dataDir" | "database">): Store {
  const { database } = config;
  return database.kind === "postgres" ? openPostgres(database.url, database.poolSize) : openDatabase(config.dataDir);
}
