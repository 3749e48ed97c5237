import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";

// Every relative link in the README and the reference pages points at a file
// that exists and, with a #fragment, at a heading that page has (as GitHub
// names heading anchors). External links are not fetched.

const root = join(import.meta.dir, "../..");
const pages = [
  "README.md",
  "bench/README.md",
  ...readdirSync(join(root, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];

/** The page's text outside fenced code blocks and inline code spans. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, "").replace(/`[^`\n]*`/g, "code");
}

/** GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to dashes, -1, -2… for repeats. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const match of markdown.replace(/^```[\s\S]*?^```/gm, "").matchAll(/^#{1,6} (.+)$/gm)) {
    const text = match[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, "$1").replace(/`/g, "");
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** `[text](target)` links whose target is not a URL with a scheme. */
function relativeLinks(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1]!)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

/** What is wrong with one link from `page`, or null. */
function brokenLink(page: string, target: string): string | null {
  const [path, fragment] = target.split("#") as [string, string | undefined];
  const file = path === "" ? page : relative(root, join(root, dirname(page), path));
  if (!existsSync(join(root, file))) return `${page}: ${target} (no file ${file})`;
  if (fragment === undefined || statSync(join(root, file)).isDirectory()) return null;
  if (!file.endsWith(".md")) return `${page}: ${target} (a fragment on a file that is not markdown)`;
  return anchorsOf(readFileSync(join(root, file), "utf8")).has(fragment)
    ? null
    : `${page}: ${target} (no heading #${fragment} in ${file})`;
}

describe("links in the README and docs/", () => {
  test("the pages checked include the README and every page in docs/", () => {
    expect(pages).toContain("README.md");
    expect(pages).toContain("docs/storage.md");
    expect(pages).toContain("docs/configuration.md");
  });

  test("GitHub's anchors are computed as GitHub does", () => {
    const anchors = anchorsOf(
      "# Title\n## OAuth 2.1 authorization server\n## Where `/mcp` stands\n## __drizzle_migrations\n## Title\n```\n# not a heading\n```\n",
    );
    expect([...anchors]).toEqual([
      "title",
      "oauth-21-authorization-server",
      "where-mcp-stands",
      "__drizzle_migrations",
      "title-1",
    ]);
  });

  test.each(pages)("every relative link and #anchor in %s resolves", (page) => {
    const markdown = readFileSync(join(root, page), "utf8");
    const broken = relativeLinks(markdown)
      .map((target) => brokenLink(page, target))
      .filter((problem) => problem !== null);
    expect(broken).toEqual([]);
  });
});
