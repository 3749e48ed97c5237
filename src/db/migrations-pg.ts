// PostgreSQL's migrations (drizzle-pg/), embedded in the binary like SQLite's
// (src/db/migrations.ts). After `npm run db:generate:pg`, add the new file here;
// test/db/migrations.test.ts fails until every file in drizzle-pg/ is listed.
import journal from "../../drizzle-pg/meta/_journal.json";
import m0000 from "../../drizzle-pg/0000_init.sql" with { type: "text" };
import m0001 from "../../drizzle-pg/0001_auth_epoch.sql" with { type: "text" };
import m0002 from "../../drizzle-pg/0002_rate_counters.sql" with { type: "text" };
import m0003 from "../../drizzle-pg/0003_setup_tokens.sql" with { type: "text" };
import { fromJournal, type Migration } from "./migrations.ts";

const sqlByTag: Record<string, string> = {
  "0000_init": m0000,
  "0001_auth_epoch": m0001,
  "0002_rate_counters": m0002,
  "0003_setup_tokens": m0003,
};

export const postgresMigrations: Migration[] = fromJournal(journal, sqlByTag);

export const embeddedPostgresTags = Object.keys(sqlByTag);
