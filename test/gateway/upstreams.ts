import { join } from "node:path";

// Shared by the tests that run real upstream MCP servers behind the gateway.

/** @modelcontextprotocol/server-everything's entry, run with `node <entry> stdio`. */
export const everythingEntry = join(import.meta.dir, "../../node_modules/@modelcontextprotocol/server-everything/dist/index.js");

/** Polls `check` until it holds (upstreams connect and restart in the background). */
export async function waitFor(check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await Bun.sleep(20);
  }
}

/** The text of a tool result's first content block. */
export const textOf = (result: unknown) => (result as { content: { text: string }[] }).content[0]!.text;
