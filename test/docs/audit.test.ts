import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { auditEvents, auditOutcomes } from "../../src/audit/entry.ts";

// docs/audit.md explains every event and outcome the audit log can hold.

const page = readFileSync(join(import.meta.dir, "../../docs/audit.md"), "utf8");

test("docs/audit.md names every audit event and outcome the code records", () => {
  expect(auditEvents.filter((event) => event !== "tool_call" && !page.includes(`\`${event}\``))).toEqual([]);
  expect(auditOutcomes.filter((outcome) => !page.includes(`\`${outcome}\``))).toEqual([]);
});
