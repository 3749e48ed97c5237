import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { parseGatewayConfig } from "../../src/gateway/config.ts";
import type { Upstream } from "../../src/gateway/upstream.ts";
import { createUser } from "../../src/accounts/users.ts";
import { Browser, createTestApp, type TestApp } from "../helpers.ts";
import { connectClient, userWithKey } from "../mcp/fixture.ts";
import { textOf, waitFor } from "./upstreams.ts";

// `instances = 3` on a stdio upstream: three processes of one command,
// tools/call spread over them, everything else served by the first.

const fixture = join(import.meta.dir, "pid-stdio-upstream.ts");

let app: TestApp;
let upstream: Upstream;
const running = () => upstream.status().instances?.running;
beforeAll(async () => {
  const toml = `[[upstream]]\nname = "pids"\ncommand = "${process.execPath}"\nargs = ["${fixture}"]\ninstances = 3\n`;
  app = await createTestApp({ gateway: parseGatewayConfig("test.toml", toml, {}) });
  upstream = app.gateway!.upstreams[0]!;
  await waitFor(() => running() === 3);
});
afterAll(() => app.close());

async function pidsAnswering(calls: number): Promise<Set<number>> {
  const { token } = await userWithKey(app);
  const client = await connectClient(app, token);
  const results = await Promise.all(
    Array.from({ length: calls }, () => client.callTool({ name: "pids__pid", arguments: {} })),
  );
  return new Set(results.map((r) => Number(textOf(r))));
}

describe("instances = 3", () => {
  test("runs three processes, and calls are spread over all three", async () => {
    const pids = upstream.pids();
    expect(new Set(pids).size).toBe(3);
    expect(await pidsAnswering(30)).toEqual(new Set(pids as number[]));
  });

  test("one after another, calls still go to each", async () => {
    const { token } = await userWithKey(app);
    const client = await connectClient(app, token);
    const seen = new Set<number>();
    for (let i = 0; i < 6; i++) seen.add(Number(textOf(await client.callTool({ name: "pids__pid", arguments: {} }))));
    expect(seen.size).toBe(3);
  });

  test("resources are read from the first instance", async () => {
    const { token } = await userWithKey(app);
    const client = await connectClient(app, token);
    const read = await client.readResource({ uri: "pid://self" });
    expect((read.contents[0] as { text: string }).text).toBe(String(upstream.pid));
  });

  test("/readyz says how many of the three run", async () => {
    const body = await (await fetch(`${app.url}/readyz`)).json();
    expect(body.upstreams[0]).toMatchObject({
      name: "pids",
      state: "connected",
      instances: { running: 3, configured: 3 },
    });
  });

  test("/admin/upstreams says how many of the three run", async () => {
    const password = "correct horse battery staple";
    await createUser(app.db, {
      email: "root@example.com",
      password,
      passwordCost: app.config.passwordHashCost,
      isAdmin: true,
      now: Math.floor(Date.now() / 1000),
    });
    const b = new Browser(app.url);
    const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
    await b.post("/sign-in", { csrf, email: "root@example.com", password });
    const html = await (await b.get("/admin/upstreams")).text();
    expect(html).toContain("<td>Connected (3 of 3 instances running)</td>");
  });

  test("a dying instance is restarted while the others keep serving", async () => {
    const [first, second, third] = upstream.pids() as number[];
    process.kill(second!, "SIGKILL");
    await waitFor(() => running() === 2);
    expect(upstream.state).toBe("connected");
    expect(upstream.reason).toStartWith("instance 2 of 3: the connection closed: the process was ended by SIGKILL");
    const body = await (await fetch(`${app.url}/readyz`)).json();
    expect(body.upstreams[0].instances).toEqual({ running: 2, configured: 3 });
    expect(await pidsAnswering(10)).toEqual(new Set([first!, third!]));
    await waitFor(() => running() === 3);
    const restarted = upstream.pids()[1]!;
    expect(restarted).not.toBe(second!);
    expect(upstream.reason).toBeNull();
    expect(await pidsAnswering(30)).toEqual(new Set([first!, restarted, third!]));
  });

  test("with the first instance down the tools stay offered and the others answer", async () => {
    const [first, second, third] = upstream.pids() as number[];
    process.kill(first!, "SIGKILL");
    await waitFor(() => running() === 2);
    const { token } = await userWithKey(app);
    const client = await connectClient(app, token);
    expect((await client.listTools()).tools.map((t) => t.name)).toContain("pids__pid");
    expect(await pidsAnswering(10)).toEqual(new Set([second!, third!]));
    await waitFor(() => running() === 3);
  });
});
