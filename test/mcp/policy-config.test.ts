import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseGatewayConfig } from "../../src/gateway/config.ts";
import { parsePolicies, policySourcesFor, PolicyConfigError } from "../../src/mcp/policy-config.ts";
import { useCliSandbox } from "../cli/sandbox.ts";
import { freePort } from "../helpers.ts";

// [[policy]] tables in the GATEHOUSE_CONFIG file: parsing, errors naming
// file:line: field: problem, and whom a rule names.

const file = "gatehouse.toml";
const failure = (text: string) => {
  try {
    parsePolicies(file, text);
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyConfigError);
    return (error as Error).message;
  }
  throw new Error("expected a config error");
};

const rule = `[[policy]]\ntool = "github__create_issue"\nargument = "repo"\nallow = ["acme/*"]\n`;

describe("good [[policy]] tables", () => {
  test("a rule for everyone", () => {
    expect(parsePolicies(file, rule)).toEqual([
      { tool: "github__create_issue", argument: "repo", allow: ["acme/*"], people: [], groups: [] },
    ]);
  });

  test("people are lowercased; groups are admins, members, services", () => {
    const text = `${rule}people = ["Alice@Example.com", "*@contractors.example.com"]\ngroups = ["members"]\n`;
    expect(parsePolicies(file, text)[0]).toMatchObject({
      people: ["alice@example.com", "*@contractors.example.com"],
      groups: ["members"],
    });
  });

  test("sit beside [[upstream]] tables, which do not mind them", () => {
    expect(
      parseGatewayConfig(file, `[[upstream]]\nname = "a"\nurl = "http://127.0.0.1:1/mcp"\n\n${rule}`, {}).upstreams,
    ).toHaveLength(1);
  });
});

describe("bad [[policy]] tables name file, line and field", () => {
  test("a missing allow", () => {
    expect(failure(`[[policy]]\ntool = "t"\nargument = "a"\n`)).toBe(
      `${file}:1: policy[0].allow: is required: one or more patterns the argument must match, such as ["acme/*"]`,
    );
  });

  test("an unknown field", () => {
    expect(failure(`${rule}deny = ["x"]\n`)).toBe(
      `${file}:5: policy[0].deny: unknown field; expected one of tool, argument, allow, people, groups`,
    );
  });

  test("an unknown group", () => {
    expect(failure(`${rule}groups = ["staff"]\n`)).toBe(
      `${file}:5: policy[0].groups: "staff" is not a group; Gatehouse knows "admins", "members", "services"`,
    );
  });

  test("a person that is not an email", () => {
    expect(failure(`${rule}people = ["alice"]\n`)).toBe(
      `${file}:5: policy[0].people: "alice" is not an email or an email pattern such as "*@example.com"`,
    );
  });

  test("a bad tool name, on the second table", () => {
    expect(failure(`${rule}\n[[policy]]\ntool = "no spaces"\nargument = "a"\nallow = ["x"]\n`)).toBe(
      `${file}:7: policy[1].tool: "no spaces" is not a tool name`,
    );
  });

  test("allow that is not a list of strings", () => {
    expect(failure(`[[policy]]\ntool = "t"\nargument = "a"\nallow = "x"\n`)).toBe(
      `${file}:4: policy[0].allow: must be a list of strings, such as ["acme/*"]`,
    );
  });
});

describe("whom a rule names", () => {
  const rules = parsePolicies(
    file,
    `${rule}people = ["*@contractors.example.com"]\n[[policy]]\ntool = "t"\nargument = "a"\nallow = ["x"]\ngroups = ["admins"]\n[[policy]]\ntool = "s"\nargument = "a"\nallow = ["y"]\ngroups = ["services"]\n`,
  );
  const tools = (email: string, isAdmin = false, kind: "person" | "service" = "person") =>
    policySourcesFor(rules, { email, isAdmin, kind }).map((s) => Object.keys(s.limits)[0]);

  test("people by email pattern, case-insensitive", () => {
    expect(tools("Bob@Contractors.Example.com")).toEqual(["github__create_issue"]);
    expect(tools("bob@example.com")).toEqual([]);
  });

  test("admins, members and service accounts by group", () => {
    expect(tools("root@example.com", true)).toEqual(["t"]);
    expect(tools("ci@service.invalid", false, "service")).toEqual(["s"]);
  });
});

describe("gatehouse serve with a bad [[policy]] table", () => {
  const cli = useCliSandbox();

  test("exits 1 with one line naming the file, line and field", async () => {
    const path = join(cli.root, "bad.toml");
    writeFileSync(path, `[[policy]]\ntool = "t"\nargument = "a"\nallow = []\n`);
    const run = await cli.gatehouse(["serve", "--config", path, "--port", String(freePort())]);
    expect(run).toEqual({
      code: 1,
      out: "",
      err: `gatehouse: ${path}:4: policy[0].allow: is required: one or more patterns the argument must match, such as ["acme/*"]\n`,
    });
  });
});
