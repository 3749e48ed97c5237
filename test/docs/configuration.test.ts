import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { settings } from "../../src/config.ts";

// docs/configuration.md has a row for every setting loadConfig reads, with
// its variable, flag and default as the code has them.

const page = readFileSync(join(import.meta.dir, "../../docs/configuration.md"), "utf8");
const rows = page.split("\n").filter((line) => line.startsWith("| `"));

describe("docs/configuration.md", () => {
  test.each(Object.values(settings).map((s) => [s.env, s] as const))(
    "documents %s with its flag and default",
    (env, setting) => {
      const row = rows.find((line) => line.startsWith(`| \`${env}\` |`));
      expect(row).toBeDefined();
      const [, flag, fallback] = row!
        .split("|")
        .slice(1)
        .map((cell) => cell.trim());
      expect(flag).toBe(`\`${setting.flag}\``);
      if ("default" in setting) expect(fallback).toBe(`\`${setting.default}\``);
    },
  );
});
