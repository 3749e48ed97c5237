import { join } from "node:path";

// Shared by the tests that run real upstream MCP servers behind the gateway.

/** @modelcontextprotocol/server-everything's entry, run with `node <entry> stdio`. */
export const everythingEntry = join(
  import.meta.dir,
  "../../node_modules/@modelcontextprotocol/server-everything/dist/index.js",
);

// Upstreams connect and restart in the background: wait for them with waitFor.
export { waitFor } from "../support/wait-for.ts";

/** The text of a tool result's first content block. */
export const textOf = (result: unknown) => (result as { content: { text: string }[] }).content[0]!.text;
