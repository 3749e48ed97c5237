import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createUser } from "../../src/accounts/users.ts";
import { parseGatewayConfig } from "../../src/gateway/config.ts";
import { Browser, createTestApp, type TestApp } from "../helpers.ts";
import { connectClient, userWithKey } from "../mcp/fixture.ts";
import { everythingEntry, textOf, waitFor } from "./upstreams.ts";
import { startHttpUpstream, type HttpUpstream } from "./http-upstream.ts";

// Upstreams that die, go away or never start: Gatehouse keeps serving, says
// why, and the stdio one comes back.

const stateOf = (app: TestApp, name: string) => app.gateway!.statuses().find((s) => s.name === name)!;

let web: HttpUpstream;
let app: TestApp;
beforeAll(async () => {
  web = startHttpUpstream();
  const toml = `
[[upstream]]
name = "everything"
command = "node"
args = ["${everythingEntry}", "stdio"]

[[upstream]]
name = "web"
url = "${web.url}"

[[upstream]]
name = "broken"
command = "sh"
args = ["-c", "echo 'missing API token' >&2; exit 3"]
`;
  app = await createTestApp({ gateway: parseGatewayConfig("test.toml", toml, {}) });
  await waitFor(
    () =>
      stateOf(app, "everything").state === "connected" &&
      stateOf(app, "web").state === "connected" &&
      stateOf(app, "broken").state === "failed",
  );
});
afterAll(async () => {
  await app.close();
  web.stop();
});

describe("a failing upstream", () => {
  test("leaves Gatehouse serving its built-in tools and the other upstreams", async () => {
    const { token } = await userWithKey(app);
    const names = (await (await connectClient(app, token)).listTools()).tools.map((t) => t.name);
    expect(names).toContain("gatehouse__whoami");
    expect(names).toContain("everything__echo");
    expect(names.some((n) => n.startsWith("broken__"))).toBe(false);
  });

  test("/readyz stays 200 and says why", async () => {
    const res = await fetch(`${app.url}/readyz`);
    expect(res.status).toBe(200);
    const broken = (await res.json()).upstreams.find((u: { name: string }) => u.name === "broken");
    expect(broken.state).toBe("failed");
    expect(broken.reason).toContain("missing API token");
  });

  test("/readyz says how its process ended", async () => {
    const broken = (await (await fetch(`${app.url}/readyz`)).json()).upstreams.find(
      (u: { name: string }) => u.name === "broken",
    );
    expect(broken.reason).toContain("the process exited with code 3");
  });

  test("/admin/upstreams shows its state and last error to an admin", async () => {
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
    const res = await b.get("/admin/upstreams");
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/<tr data-upstream="broken" data-state="failed">/);
    expect(html).toContain("missing API token");
    expect(html).toMatch(/<tr data-upstream="everything" data-state="connected">/);
  });

  test("/admin/upstreams is for admins only", async () => {
    expect((await new Browser(app.url).get("/admin/upstreams")).status).toBe(303);
  });

  test("its stderr goes to Gatehouse's log with the upstream's name", () => {
    expect(
      app.logs.some((l) => l.msg === "upstream stderr" && l.upstream === "broken" && l.line === "missing API token"),
    ).toBe(true);
  });
});

describe("progress", () => {
  test("progress notifications of a forwarded call reach the caller", async () => {
    const { token } = await userWithKey(app);
    const client = await connectClient(app, token);
    const seen: number[] = [];
    const result = await client.callTool(
      { name: "everything__trigger-long-running-operation", arguments: { duration: 1, steps: 3 } },
      { onprogress: (p) => void seen.push(p.progress) },
    );
    expect(result.isError).toBeFalsy();
    expect(seen).toEqual([1, 2, 3]);
  });
});

describe("an upstream killed mid-call", () => {
  test("the stdio child killed during a call gives a clear error, and it is restarted with its tools", async () => {
    const { token } = await userWithKey(app);
    const client = await connectClient(app, token);
    const pid = app.gateway!.upstreams.find((u) => u.name === "everything")!.pid!;
    // The first progress notification says the call is running at the upstream.
    const progress: number[] = [];
    const call = client.callTool(
      { name: "everything__trigger-long-running-operation", arguments: { duration: 5, steps: 50 } },
      { onprogress: (p) => void progress.push(p.progress) },
    );
    await waitFor(() => progress.length > 0);
    process.kill(pid, "SIGKILL");
    const result = await call;
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe(
      "upstream everything closed the connection during tools/call trigger-long-running-operation",
    );
    await waitFor(() => stateOf(app, "everything").state === "connected");
    expect(app.gateway!.upstreams.find((u) => u.name === "everything")!.pid).not.toBe(pid);
    const echo = await client.callTool({ name: "everything__echo", arguments: { message: "back" } });
    expect(textOf(echo)).toBe("Echo: back");
  });

  test("a stopped HTTP upstream gives a clear error, never a hang, then 'not connected'", async () => {
    const { token } = await userWithKey(app);
    const client = await connectClient(app, token);
    web.stop();
    const first = await client.callTool({ name: "web__lookup", arguments: { text: "a" } });
    expect(first.isError).toBe(true);
    expect(textOf(first)).toStartWith("upstream web failed during tools/call lookup:");
    await waitFor(() => stateOf(app, "web").state === "failed");
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names.some((n) => n.startsWith("web__"))).toBe(false);
  });
});
