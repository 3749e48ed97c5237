import { defineConfig } from "drizzle-kit";

// PostgreSQL (issue 16): the twin of drizzle.config.ts, its own migrations folder.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/schema-pg.ts",
  out: "./drizzle-pg",
});
