// The SQL migrations, embedded in the binary (drizzle's own migrate() reads
// them from disk). After `bun run db:generate`, add the new file here;
// test/db/migrations.test.ts fails until every file in drizzle/ is listed.
import journal from "../../drizzle/meta/_journal.json";
import m0000 from "../../drizzle/0000_init.sql" with { type: "text" };
import m0001 from "../../drizzle/0001_oauth.sql" with { type: "text" };
import m0002 from "../../drizzle/0002_tool_grants_audit.sql" with { type: "text" };
import m0003 from "../../drizzle/0003_auth_epoch.sql" with { type: "text" };
import m0004 from "../../drizzle/0004_device_bridge_invitations.sql" with { type: "text" };
import m0005 from "../../drizzle/0005_service_accounts_identity_links.sql" with { type: "text" };
import m0006 from "../../drizzle/0006_cimd_last_good_copy.sql" with { type: "text" };
import m0007 from "../../drizzle/0007_key_sessions.sql" with { type: "text" };
import m0008 from "../../drizzle/0008_client_owners.sql" with { type: "text" };
import m0009 from "../../drizzle/0009_argument_limits.sql" with { type: "text" };
import m0010 from "../../drizzle/0010_grants_client_index.sql" with { type: "text" };
import m0011 from "../../drizzle/0011_auth_epoch_refresh_rotation.sql" with { type: "text" };
import m0012 from "../../drizzle/0012_setup_tokens.sql" with { type: "text" };

const sqlByTag: Record<string, string> = {
  "0000_init": m0000,
  "0001_oauth": m0001,
  "0002_tool_grants_audit": m0002,
  "0003_auth_epoch": m0003,
  "0004_device_bridge_invitations": m0004,
  "0005_service_accounts_identity_links": m0005,
  "0006_cimd_last_good_copy": m0006,
  "0007_key_sessions": m0007,
  "0008_client_owners": m0008,
  "0009_argument_limits": m0009,
  "0010_grants_client_index": m0010,
  "0011_auth_epoch_refresh_rotation": m0011,
  "0012_setup_tokens": m0012,
};

export interface Migration {
  tag: string;
  /** The journal's `when`: drizzle records it as `created_at`, and it orders migrations. */
  createdAt: number;
  statements: string[];
  sql: string;
}

export const migrations: Migration[] = fromJournal(journal, sqlByTag);

export const embeddedTags = Object.keys(sqlByTag);

/** The journal's entries in order, each with its embedded SQL split at drizzle-kit's breakpoints. */
export function fromJournal(
  list: { entries: { tag: string; when: number }[] },
  sql: Record<string, string>,
): Migration[] {
  return list.entries.map((entry) => {
    const text = sql[entry.tag];
    if (text === undefined) throw new Error(`migration ${entry.tag} is in the journal but not embedded`);
    return {
      tag: entry.tag,
      createdAt: entry.when,
      sql: text,
      statements: text
        .split("--> statement-breakpoint")
        .map((s) => s.trim())
        .filter(Boolean),
    };
  });
}
