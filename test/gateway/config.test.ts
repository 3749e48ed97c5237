import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { GatewayConfigError, loadGatewayConfig, parseGatewayConfig } from "../../src/gateway/config.ts";
import { useCliSandbox } from "../cli/sandbox.ts";
import { freePort } from "../helpers.ts";
import { writeFileSync } from "node:fs";

const file = "gatehouse.toml";
const parse = (text: string, env: Record<string, string> = {}) => parseGatewayConfig(file, text, env);
const failure = (text: string, env: Record<string, string> = {}) => {
  try {
    parse(text, env);
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayConfigError);
    return (error as Error).message;
  }
  throw new Error("expected a config error");
};

const stdio = `[[upstream]]\nname = "everything"\ncommand = "npx"\nargs = ["-y", "@modelcontextprotocol/server-everything"]\n`;

describe("a good config file", () => {
  test("the shipped example parses", () => {
    const config = loadGatewayConfig(join(import.meta.dir, "../../examples/gatehouse.toml"), {});
    expect(config.upstreams.map((u) => [u.name, u.kind, u.prefix])).toEqual([["everything", "stdio", "everything__"]]);
  });

  test("the shipped REST API example parses", () => {
    const config = loadGatewayConfig(join(import.meta.dir, "../../examples/rest-api.toml"), {
      PETS_TOKEN: "t",
      BILLING_API_KEY: "k",
    });
    expect(config.upstreams.map((u) => [u.name, u.kind])).toEqual([
      ["pets", "openapi"],
      ["billing", "openapi"],
    ]);
  });

  test("a stdio upstream gets defaults: prefix <name>__, no env, no cwd, one instance, empty globs", () => {
    expect(parse(stdio).upstreams[0]).toEqual({
      name: "everything",
      kind: "stdio",
      command: "npx",
      args: ["-y", "@modelcontextprotocol/server-everything"],
      env: {},
      cwd: null,
      instances: 1,
      prefix: "everything__",
      read: [],
      write: [],
      hide: [],
    });
  });

  test("instances sets how many processes of a stdio command run", () => {
    expect(parse(`${stdio}instances = 4\n`).upstreams[0]).toMatchObject({ kind: "stdio", instances: 4 });
  });

  test("an http upstream expands ${VAR} in headers from the environment", () => {
    const text = `[[upstream]]\nname = "docs"\nurl = "https://docs.example/mcp"\nprefix = "d_"\nread = ["get_*"]\nheaders = { Authorization = "Bearer \${DOCS_TOKEN}" }\n`;
    const [docs] = parse(text, { DOCS_TOKEN: "s3cret" }).upstreams;
    expect(docs).toMatchObject({
      kind: "http",
      url: "https://docs.example/mcp",
      prefix: "d_",
      read: ["get_*"],
      headers: { Authorization: "Bearer s3cret" },
    });
  });

  test("headers may be a sub-table", () => {
    const text = `[[upstream]]\nname = "docs"\nurl = "https://docs.example/mcp"\n[upstream.headers]\nX-Api-Key = "\${KEY}"\n`;
    expect(parse(text, { KEY: "k" }).upstreams[0]).toMatchObject({ headers: { "X-Api-Key": "k" } });
  });

  test('prefix = "" lists an upstream\'s tools and prompts under their own names', () => {
    const text = `[[upstream]]\nname = "fixture"\ncommand = "x"\nprefix = ""\n[[upstream]]\nname = "b"\ncommand = "y"\n`;
    expect(parse(text).upstreams.map((u) => u.prefix)).toEqual(["", "b__"]);
  });

  test("an openapi upstream gets defaults: no base_url, no headers, empty globs", () => {
    expect(parse(`[[upstream]]\nname = "pets"\nopenapi = "https://pets.example/openapi.json"\n`).upstreams[0]).toEqual({
      name: "pets",
      kind: "openapi",
      openapi: "https://pets.example/openapi.json",
      baseUrl: null,
      headers: {},
      include: [],
      exclude: [],
      prefix: "pets__",
      read: [],
      write: [],
      hide: [],
    });
  });

  test("an openapi upstream reads base_url, headers with ${VAR}, include and exclude", () => {
    const text = `[[upstream]]\nname = "pets"\nopenapi = "https://pets.example/openapi.json"\nbase_url = "https://api.pets.example/v2"\nheaders = { Authorization = "Bearer \${PETS_TOKEN}" }\ninclude = ["list*", "getPet"]\nexclude = ["listSecrets"]\n`;
    expect(parse(text, { PETS_TOKEN: "s3cret" }).upstreams[0]).toMatchObject({
      baseUrl: "https://api.pets.example/v2",
      headers: { Authorization: "Bearer s3cret" },
      include: ["list*", "getPet"],
      exclude: ["listSecrets"],
    });
  });

  test("an openapi file path is resolved against the config file's directory", () => {
    const config = parseGatewayConfig(
      "/etc/gatehouse/gatehouse.toml",
      `[[upstream]]\nname = "pets"\nopenapi = "apis/pets.yaml"\n[[upstream]]\nname = "abs"\nopenapi = "/srv/abs.json"\n`,
      {},
    );
    expect(config.upstreams.map((u) => u.kind === "openapi" && u.openapi)).toEqual([
      "/etc/gatehouse/apis/pets.yaml",
      "/srv/abs.json",
    ]);
  });

  test("an empty file declares no upstreams", () => {
    expect(parse("# nothing yet\n").upstreams).toEqual([]);
  });
});

describe("a bad config file names the file, the line and the field", () => {
  test("a TOML syntax error names its line", () => {
    expect(failure(`${stdio}\n[[upstream]]\nname = "x\n`)).toBe(
      "gatehouse.toml:7: TOML syntax error: Unterminated string; newlines must be escaped in basic strings",
    );
  });

  test("a duplicated key is a syntax error on its line", () => {
    expect(failure(`[[upstream]]\nname = "a"\nname = "b"\n`)).toStartWith("gatehouse.toml:3: TOML syntax error:");
  });

  test("an unknown field", () => {
    expect(failure(`${stdio}comand = "x"\n`)).toStartWith("gatehouse.toml:5: upstream[0].comand: unknown field");
  });

  test("a missing name points at the table", () => {
    expect(failure(`# upstreams\n\n[[upstream]]\ncommand = "x"\n`)).toStartWith(
      "gatehouse.toml:3: upstream[0].name: is required",
    );
  });

  test("a bad name", () => {
    expect(failure(`[[upstream]]\nname = "my server"\ncommand = "x"\n`)).toStartWith(
      `gatehouse.toml:2: upstream[0].name: must be letters`,
    );
  });

  test("both command and url", () => {
    expect(failure(`[[upstream]]\nname = "a"\ncommand = "x"\nurl = "https://a.example/mcp"\n`)).toStartWith(
      "gatehouse.toml:4: upstream[0].url: set exactly one of command",
    );
  });

  test("openapi with url", () => {
    expect(
      failure(`[[upstream]]\nname = "a"\nurl = "https://a.example/mcp"\nopenapi = "https://a.example/openapi.json"\n`),
    ).toBe(
      "gatehouse.toml:4: upstream[0].openapi: set exactly one of command (a local stdio server), url (a Streamable HTTP server) or openapi (a REST API's OpenAPI document)",
    );
  });

  test("include on a url upstream", () => {
    expect(failure(`[[upstream]]\nname = "a"\nurl = "https://a.example/mcp"\ninclude = ["x"]\n`)).toBe(
      "gatehouse.toml:4: upstream[0].include: applies to openapi upstreams only",
    );
  });

  test("headers on a command upstream", () => {
    expect(failure(`[[upstream]]\nname = "a"\ncommand = "x"\nheaders = { A = "b" }\n`)).toBe(
      "gatehouse.toml:4: upstream[0].headers: applies to url and openapi upstreams only",
    );
  });

  test("an openapi URL of another scheme", () => {
    expect(failure(`[[upstream]]\nname = "a"\nopenapi = "ftp://a.example/openapi.json"\n`)).toBe(
      `gatehouse.toml:3: upstream[0].openapi: must be an http or https URL, got "ftp://a.example/openapi.json"`,
    );
  });

  test("a base_url with a password", () => {
    expect(
      failure(
        `[[upstream]]\nname = "a"\nopenapi = "https://a.example/openapi.json"\nbase_url = "https://u:p@a.example/"\n`,
      ),
    ).toBe(
      "gatehouse.toml:4: upstream[0].base_url: must not hold a user name or password; send credentials in headers",
    );
  });

  test("a url that is not http(s), in the second upstream", () => {
    expect(failure(`${stdio}\n[[upstream]]\nname = "b"\nurl = "ftp://b.example/mcp"\n`)).toBe(
      `gatehouse.toml:8: upstream[1].url: must be an http or https URL, got "ftp://b.example/mcp"`,
    );
  });

  test("instances below 1, above 64 or not a whole number", () => {
    for (const value of ["0", "65", "2.5", '"2"'])
      expect(failure(`[[upstream]]\nname = "a"\ncommand = "x"\ninstances = ${value}\n`)).toBe(
        `gatehouse.toml:4: upstream[0].instances: must be a whole number from 1 to 64, got ${value}`,
      );
  });

  test("instances on a url upstream", () => {
    expect(failure(`[[upstream]]\nname = "a"\nurl = "https://a.example/mcp"\ninstances = 2\n`)).toBe(
      "gatehouse.toml:4: upstream[0].instances: applies to command upstreams only",
    );
  });

  test("args that are not a list of strings", () => {
    expect(failure(`[[upstream]]\nname = "a"\ncommand = "x"\nargs = "--stdio"\n`)).toStartWith(
      "gatehouse.toml:4: upstream[0].args: must be a list of strings",
    );
  });

  test("a glob list with a number", () => {
    expect(failure(`[[upstream]]\nname = "a"\ncommand = "x"\nread = ["get_*", 3]\n`)).toStartWith(
      "gatehouse.toml:4: upstream[0].read: must be a list of strings",
    );
  });

  test("an undefined ${VAR} in a header names the header and the variable", () => {
    const text = `[[upstream]]\nname = "docs"\nurl = "https://docs.example/mcp"\nheaders = { Authorization = "Bearer \${DOCS_TOKEN}" }\n`;
    expect(failure(text)).toBe(
      "gatehouse.toml:4: upstream[0].headers.Authorization: reads ${DOCS_TOKEN}, which is not set in the environment",
    );
  });

  test("a duplicate name", () => {
    expect(failure(`${stdio}[[upstream]]\nname = "everything"\ncommand = "y"\n`)).toStartWith(
      `gatehouse.toml:6: upstream[1].name: "everything" is already the name of upstream[0]`,
    );
  });

  test("two upstreams with one prefix", () => {
    expect(failure(`${stdio}[[upstream]]\nname = "b"\ncommand = "y"\nprefix = "everything__"\n`)).toStartWith(
      "gatehouse.toml:8: upstream[1].prefix:",
    );
  });

  test("two upstreams with the empty prefix", () => {
    const text = `[[upstream]]\nname = "a"\ncommand = "x"\nprefix = ""\n[[upstream]]\nname = "b"\ncommand = "y"\nprefix = ""\n`;
    expect(failure(text)).toBe(
      `gatehouse.toml:8: upstream[1].prefix: "" is already the prefix of upstream[0]; give one of them another prefix`,
    );
  });

  test("the built-in prefix is taken", () => {
    expect(failure(`[[upstream]]\nname = "a"\ncommand = "x"\nprefix = "gatehouse__"\n`)).toStartWith(
      "gatehouse.toml:4: upstream[0].prefix:",
    );
  });

  test("an unknown top-level setting", () => {
    expect(failure(`timeout = 5\n${stdio}`)).toStartWith("gatehouse.toml:1: timeout: unknown setting");
  });

  test("a file that cannot be read names the file", () => {
    expect(() => loadGatewayConfig("/nonexistent/gatehouse.toml", {})).toThrow(
      "/nonexistent/gatehouse.toml: cannot read the config file",
    );
  });
});

describe("gatehouse serve with a bad config file", () => {
  const cli = useCliSandbox();

  test("exits 1 with one line naming the file, line and field", async () => {
    const path = join(cli.root, "bad.toml");
    writeFileSync(path, `[[upstream]]\nname = "a"\ncommand = "x"\nargs = 3\n`);
    const run = await cli.gatehouse(["serve", "--config", path, "--port", String(freePort())]);
    expect(run).toEqual({
      code: 1,
      out: "",
      err: `gatehouse: ${path}:4: upstream[0].args: must be a list of strings, such as ["a", "b"]\n`,
    });
  });
});
