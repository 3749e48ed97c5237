import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

// docs/architecture.md sends a newcomer to files by path: each path it names exists.

const root = join(import.meta.dir, "..", "..");
const doc = readFileSync(join(root, "docs", "architecture.md"), "utf8");

test("every src/ path docs/architecture.md names exists", () => {
  const paths = [...new Set([...doc.matchAll(/`(src\/[\w./-]+)`/g)].map((m) => m[1]!))];
  expect(paths.length).toBeGreaterThan(20);
  expect(paths.filter((path) => !existsSync(join(root, path)))).toEqual([]);
});
