import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Client, ProtocolError, SdkError, SdkErrorCode } from "@modelcontextprotocol/client";
import { parseGatewayConfig } from "../../src/gateway/config.ts";
import { LineSplitter } from "../../src/gateway/line-splitter.ts";
import { StdioTransport } from "../../src/gateway/stdio-transport.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { connectClient, userWithKey } from "../mcp/fixture.ts";
import { everythingEntry, textOf, waitFor } from "./upstreams.ts";

// Gatehouse's own stdio transport (stdio-transport.ts): one pipe per
// upstream, the messages of a turn written together, lines read once.

const malformed = join(import.meta.dir, "malformed-stdio-upstream.ts");

let app: TestApp;
beforeAll(async () => {
  const toml = `
[[upstream]]
name = "everything"
command = "node"
args = ["${everythingEntry}", "stdio"]

[[upstream]]
name = "bad"
command = "${process.execPath}"
args = ["${malformed}"]
`;
  app = await createTestApp({ gateway: parseGatewayConfig("test.toml", toml, {}) });
  await waitFor(() => app.gateway!.statuses().every((s) => s.state === "connected"));
});
afterAll(() => app.close());

/** server-everything on a pipe of our transport, an SDK Client connected over it, closed after `run`. */
async function withPipe(run: (transport: StdioTransport, client: Client) => Promise<void>) {
  const transport = new StdioTransport(
    { command: "node", args: [everythingEntry, "stdio"], env: {}, cwd: null },
    () => {},
  );
  const client = new Client({ name: "pipe-test", version: "1.0.0" });
  await client.connect(transport);
  try {
    await run(transport, client);
  } finally {
    await client.close();
  }
}

describe("the stdio pipe", () => {
  test("50 calls at once through Gatehouse each get their own answer", async () => {
    const { token } = await userWithKey(app);
    const client = await connectClient(app, token);
    const messages = Array.from({ length: 50 }, (_, i) => `call ${i}`);
    const results = await Promise.all(
      messages.map((message) => client.callTool({ name: "everything__echo", arguments: { message } })),
    );
    expect(results.map(textOf)).toEqual(messages.map((m) => `Echo: ${m}`));
  });

  test("messages larger than the pipe holds (64 KiB) go out whole, with no flush: the pipe drains itself", async () => {
    const { token } = await userWithKey(app);
    const client = await connectClient(app, token);
    const big = (fill: string) => fill.repeat(400_000);
    const [a, b] = await Promise.all(
      ["a", "b"].map((fill) => client.callTool({ name: "everything__echo", arguments: { message: big(fill) } })),
    );
    expect(textOf(a)).toBe(`Echo: ${big("a")}`);
    expect(textOf(b)).toBe(`Echo: ${big("b")}`);
  });

  test("50 requests sent in one turn (one write) are answered in full, each matched by its id", async () => {
    await withPipe(async (_transport, client) => {
      const calls = Array.from({ length: 50 }, (_, i) =>
        client.callTool({ name: "get-sum", arguments: { a: i, b: 1000 } }),
      );
      const sums = (await Promise.all(calls)).map(textOf);
      expect(sums).toEqual(Array.from({ length: 50 }, (_, i) => `The sum of ${i} and 1000 is ${i + 1000}.`));
    });
  });

  test("close ends the child", async () => {
    const transport = new StdioTransport(
      { command: "node", args: [everythingEntry, "stdio"], env: {}, cwd: null },
      () => {},
    );
    const client = new Client({ name: "pipe-test", version: "1.0.0" });
    await client.connect(transport);
    const pid = transport.pid!;
    await client.close();
    expect(() => process.kill(pid, 0)).toThrow();
    expect(transport.exit).not.toBeNull();
  });

  test("a malformed result is a tool error that says what is wrong with it", async () => {
    const { token } = await userWithKey(app);
    const client = await connectClient(app, token);
    const result = await client.callTool({ name: "bad__malformed", arguments: {} });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe(
      "upstream bad failed during tools/call malformed: Invalid result for tools/call: content is not an array",
    );
  });
});

describe("requests Gatehouse sends on the pipe itself (own-requests.ts)", () => {
  const options = (timeout = 10_000, signal = new AbortController().signal) => ({ signal, timeout });

  test("an answer is matched by its id beside the SDK Client's own traffic; an error answer is a ProtocolError", async () => {
    await withPipe(async (transport) => {
      const [echoed, summed] = await Promise.all([
        transport.own.request("tools/call", { name: "echo", arguments: { message: "own" } }, options()),
        transport.own.request("tools/call", { name: "get-sum", arguments: { a: 1, b: 2 } }, options()),
      ]);
      expect(textOf(echoed)).toBe("Echo: own");
      expect(textOf(summed)).toBe("The sum of 1 and 2 is 3.");
      const refused = transport.own.request("no/such-method", {}, options());
      await expect(refused).rejects.toBeInstanceOf(ProtocolError);
      const error = (await refused.catch((e: unknown) => e)) as ProtocolError;
      expect(error.code).toBe(-32601);
      expect(error.message).toContain("Method not found");
    });
  });

  test("a timeout fails the request as the SDK does, and the pipe goes on", async () => {
    await withPipe(async (transport) => {
      const slow = transport.own.request(
        "tools/call",
        { name: "trigger-long-running-operation", arguments: { duration: 5, steps: 5 } },
        options(100),
      );
      await expect(slow).rejects.toBeInstanceOf(SdkError);
      await expect(slow).rejects.toMatchObject({ code: SdkErrorCode.RequestTimeout });
      const next = await transport.own.request(
        "tools/call",
        { name: "echo", arguments: { message: "after" } },
        options(),
      );
      expect(textOf(next)).toBe("Echo: after");
    });
  });

  test("a cancelled request fails at once; a closed pipe fails what is in flight with ConnectionClosed", async () => {
    await withPipe(async (transport) => {
      const controller = new AbortController();
      const slow = { name: "trigger-long-running-operation", arguments: { duration: 5, steps: 5 } };
      const cancelled = transport.own.request("tools/call", slow, options(10_000, controller.signal));
      controller.abort("the caller went away");
      await expect(cancelled).rejects.toMatchObject({
        code: SdkErrorCode.RequestTimeout,
        message: "the caller went away",
      });
      const inFlight = transport.own.request("tools/call", slow, options());
      await transport.close();
      await expect(inFlight).rejects.toMatchObject({ code: SdkErrorCode.ConnectionClosed });
    });
  });
});

describe("LineSplitter", () => {
  test("a line split over chunks comes out whole, several in one chunk come out apart", () => {
    const lines = new LineSplitter(100);
    expect(lines.push('{"a":')).toEqual([]);
    expect(lines.push('1}\n{"b":2}\n{"c"')).toEqual(['{"a":1}', '{"b":2}']);
    expect(lines.push(":3}\n")).toEqual(['{"c":3}']);
    expect(lines.rest()).toBe("");
  });

  test("a line longer than the limit is an error, or cut when cutting", () => {
    expect(() => new LineSplitter(4).push("12345")).toThrow("a line longer than 4 characters");
    expect(new LineSplitter(4, true).push("12345")).toEqual(["12345"]);
  });
});
