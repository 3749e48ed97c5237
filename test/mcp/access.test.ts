import { describe, expect, test } from "bun:test";
import { accessOffer, consentDefault, toolGroups, withinCeiling, type Access } from "../../src/mcp/access.ts";
import type { WriteToolChoice } from "../../src/mcp/tool-permissions.ts";
import { accessFromForm } from "../../src/web/access-form.ts";

// The one access model (issue 10, point 5): Read-only; Full (every write
// tool, also ones added later); Full with only the ticked write tools.

const tools: WriteToolChoice[] = [
  { name: "gatehouse__revoke_connection", description: "Revoke" },
  { name: "gh__create_issue", description: "Create", upstream: "gh" },
  { name: "gh__merge", description: "Merge", upstream: "gh" },
  { name: "web__store", description: "Store", upstream: "web" },
];
const names = (list: readonly { name: string }[]) => list.map((t) => t.name);
const read: Access = { level: "read", tools: [] };
const full: Access = { level: "full", tools: null };
const some = (...t: string[]): Access => ({ level: "full", tools: t });

describe("withinCeiling", () => {
  test("no ceiling allows everything", () => expect(withinCeiling(full, null)).toBe(true));
  test("Read-only is within any ceiling", () => expect(withinCeiling(read, read)).toBe(true));
  test("Full is beyond a Read-only key", () => expect(withinCeiling(some("web__store"), read)).toBe(false));
  test("Full is beyond a key limited to some tools", () => expect(withinCeiling(full, some("web__store"))).toBe(false));
  test("some tools are within a Full key", () => expect(withinCeiling(some("gh__merge"), full)).toBe(true));
  test("a subset of the key's tools is within it", () =>
    expect(withinCeiling(some("gh__merge"), some("gh__merge", "web__store"))).toBe(true));
  test("a tool the key lacks is beyond it", () =>
    expect(withinCeiling(some("gh__merge", "web__store"), some("gh__merge"))).toBe(false));

  const limited: Access = { level: "full", tools: null, limits: { gh__merge: { repo: ["acme/*"] } } };
  test("a key without the argument limits of a limited key is beyond it", () =>
    expect(withinCeiling(full, limited)).toBe(false));
  test("the same limits, or a plain value they allow, are within", () => {
    expect(withinCeiling(limited, limited)).toBe(true);
    expect(withinCeiling({ ...full, limits: { gh__merge: { repo: ["acme/x"] } } }, limited)).toBe(true);
  });
  test("a key without the limited tool needs no limit on it", () =>
    expect(withinCeiling(some("web__store"), limited)).toBe(true));
});

describe("accessOffer and consentDefault", () => {
  test("no ceiling: all three choices, Full chosen, nothing ticked", () => {
    const offer = accessOffer(null, tools);
    expect(offer).toMatchObject({ full: true, chosen: true });
    expect(names(offer.tools)).toEqual(names(tools));
    expect(consentDefault(offer)).toEqual({ choice: "full", ticked: [] });
  });

  test("an app asking only for mcp:read is offered Read-only alone", () => {
    const offer = accessOffer(null, tools, false);
    expect(offer).toEqual({ full: false, chosen: false, tools: [] });
    expect(consentDefault(offer).choice).toBe("read");
  });

  test("a Read-only key offers Read-only alone", () => {
    expect(accessOffer(read, tools)).toEqual({ full: false, chosen: false, tools: [] });
  });

  test("a key limited to some tools offers those to tick, never Full, and starts with them ticked", () => {
    const offer = accessOffer(some("web__store", "gone__tool"), tools);
    expect(offer.full).toBe(false);
    expect(names(offer.tools)).toEqual(["web__store"]);
    expect(consentDefault(offer)).toEqual({ choice: "chosen", ticked: ["web__store"] });
  });

  test("tools are grouped by upstream in catalogue order", () => {
    expect(toolGroups(tools).map((g) => [g.key, g.label, names(g.tools)])).toEqual([
      ["(gatehouse)", "Gatehouse", ["gatehouse__revoke_connection"]],
      ["gh", "gh", ["gh__create_issue", "gh__merge"]],
      ["web", "web", ["web__store"]],
    ]);
  });
});

describe("accessFromForm", () => {
  const offer = accessOffer(null, tools);
  const form = (fields: [string, string][]) =>
    Object.fromEntries(
      Object.entries(Object.groupBy(fields, ([k]) => k)).map(([k, v]) => [
        k,
        v!.length === 1 ? v![0]![1] : v!.map(([, x]) => x),
      ]),
    );

  test("read", () =>
    expect(
      accessFromForm(
        form([
          ["access", "read"],
          ["tool", "web__store"],
        ]),
        offer,
      ),
    ).toEqual({ ok: true, access: read }));
  test("full: every write tool, also later ones", () =>
    expect(accessFromForm(form([["access", "full"]]), offer)).toEqual({ ok: true, access: full }));
  test("chosen: the ticked tools in catalogue order", () => {
    expect(
      accessFromForm(
        form([
          ["access", "chosen"],
          ["tool", "web__store"],
          ["tool", "gh__merge"],
        ]),
        offer,
      ),
    ).toEqual({ ok: true, access: some("gh__merge", "web__store") });
  });
  test("chosen: a group's tick-all adds its tools", () => {
    expect(
      accessFromForm(
        form([
          ["access", "chosen"],
          ["tool_group", "gh"],
          ["tool", "web__store"],
        ]),
        offer,
      ),
    ).toEqual({
      ok: true,
      access: some("gh__create_issue", "gh__merge", "web__store"),
    });
  });
  test("chosen with nothing ticked asks to tick or choose another level", () => {
    expect(accessFromForm(form([["access", "chosen"]]), offer)).toEqual({
      ok: false,
      error: "Tick at least one write tool, or choose Full or Read-only.",
    });
  });
  test("an unknown tool is refused by name", () => {
    expect(
      accessFromForm(
        form([
          ["access", "chosen"],
          ["tool", "x__y"],
        ]),
        offer,
      ),
    ).toEqual({ ok: false, error: "Gatehouse has no write tool named x__y." });
  });
  test("full beyond the offer (a limited key) is refused, not trimmed", () => {
    const limited = accessOffer(some("web__store"), tools);
    expect(accessFromForm(form([["access", "full"]]), limited)).toEqual({
      ok: false,
      error: "Choose an access level: Read-only or Full with only the write tools you tick.",
    });
    expect(
      accessFromForm(
        form([
          ["access", "chosen"],
          ["tool", "gh__merge"],
        ]),
        limited,
      ),
    ).toEqual({ ok: false, error: "Gatehouse has no write tool named gh__merge." });
  });
  test("no choice names the offered ones", () => {
    expect(accessFromForm(form([]), offer)).toEqual({
      ok: false,
      error: "Choose an access level: Read-only, Full or Full with only the write tools you tick.",
    });
  });
});
