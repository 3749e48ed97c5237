import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { closeStore } from "../../src/db/operations.ts";
import { Browser, createTestApp, type TestApp } from "../helpers.ts";
import { waitFor } from "../support/wait-for.ts";

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp({ listen: false });
});
afterAll(() => app.close());

const linesOf = (target: TestApp, requestId: string) =>
  target.logs.filter((l) => l.msg === "request" && l.request_id === requestId);

/**
 * The request log lines for one request id. A line is written after its
 * response, so wait for it; then wait for the line of one more request, so
 * that a stray second line of the first has had its turn before counting.
 */
async function requestLines(target: TestApp, requestId: string): Promise<Record<string, unknown>[]> {
  await waitFor(() => linesOf(target, requestId).length > 0);
  const marker = `after-${requestId}`.slice(0, 64);
  await target.request("/healthz", { headers: { "x-request-id": marker } });
  await waitFor(() => linesOf(target, marker).length > 0);
  return linesOf(target, requestId);
}

describe("health", () => {
  test("/healthz is 200 {status: ok}", async () => {
    const res = await app.request("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  test("/readyz is 200 while the database answers", async () => {
    const res = await app.request("/readyz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  test("/readyz is 503 once the database is closed", async () => {
    const broken = await createTestApp({ listen: false });
    try {
      await closeStore(broken.db);
      const res = await broken.request("/readyz");
      expect(res.status).toBe(503);
      expect((await res.json()).status).toBe("unavailable");
    } finally {
      // close() closes the database again, which SQLite allows, and it also stops the server and removes the dir.
      await broken.close();
    }
  });

  test("/healthz stays 200 when the database is closed", async () => {
    const broken = await createTestApp({ listen: false });
    try {
      await closeStore(broken.db);
      expect((await broken.request("/healthz")).status).toBe(200);
    } finally {
      await broken.close();
    }
  });
});

describe("request log", () => {
  test("one request writes exactly one request line", async () => {
    const res = await app.request("/healthz", { headers: { "x-request-id": "one-line-check" } });
    expect(res.headers.get("x-request-id")).toBe("one-line-check");
    expect((await requestLines(app, "one-line-check")).length).toBe(1);
  });

  test("the line carries method, path, status and duration_ms", async () => {
    const res = await app.request("/readyz");
    const [line] = await requestLines(app, res.headers.get("x-request-id")!);
    expect(line).toMatchObject({ level: "info", method: "GET", path: "/readyz", status: 200 });
    expect(line!.duration_ms).toBeNumber();
    expect(line!.duration_ms as number).toBeGreaterThanOrEqual(0);
  });

  test("request_id equals the response's generated X-Request-Id", async () => {
    const res = await app.request("/healthz");
    const id = res.headers.get("x-request-id")!;
    expect(id).toMatch(/^[a-z2-7]{8}-[0-9a-z]+$/);
    expect((await requestLines(app, id)).length).toBe(1);
  });

  test("the path is logged without the query string", async () => {
    const res = await app.request("/sign-in?next=/keys&token=secret");
    const [line] = await requestLines(app, res.headers.get("x-request-id")!);
    expect(line!.path).toBe("/sign-in");
  });

  test("a query value appears in no log line", async () => {
    const res = await app.request("/setup?token=hunter2secretvalue");
    await requestLines(app, res.headers.get("x-request-id")!);
    expect(app.logs.length).toBeGreaterThan(0);
    expect(app.logs.some((l) => JSON.stringify(l).includes("hunter2secretvalue"))).toBe(false);
  });

  test("a redirect is logged with its 303 status", async () => {
    const res = await app.request("/keys", { redirect: "manual" });
    expect(res.status).toBe(303);
    const [line] = await requestLines(app, res.headers.get("x-request-id")!);
    expect(line!.status).toBe(303);
  });

  test("a 404 is logged with its status", async () => {
    const res = await app.request("/no/such/page");
    const [line] = await requestLines(app, res.headers.get("x-request-id")!);
    expect(line).toMatchObject({ method: "GET", path: "/no/such/page", status: 404 });
  });

  test("a refused form post is logged with method POST and status 403", async () => {
    const res = await app.request("/sign-in", {
      method: "POST",
      body: new URLSearchParams({ email: "a@example.com" }),
    });
    expect(res.status).toBe(403);
    const [line] = await requestLines(app, res.headers.get("x-request-id")!);
    expect(line).toMatchObject({ method: "POST", path: "/sign-in", status: 403 });
  });

  test("a failed sign-in page is logged with its 401 status", async () => {
    const b = new Browser(app.url, app.send);
    const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
    const res = await b.post("/sign-in", { csrf, email: "nobody@example.com", password: "whatever it is" });
    expect(res.status).toBe(401);
    const [line] = await requestLines(app, res.headers.get("x-request-id")!);
    expect(line!.status).toBe(401);
  });

  test("a failed sign-in logs neither the email nor the password", async () => {
    const b = new Browser(app.url, app.send);
    const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
    const res = await b.post("/sign-in", { csrf, email: "someone@example.com", password: "password-in-the-clear" });
    expect(res.status).toBe(401);
    await requestLines(app, res.headers.get("x-request-id")!);
    const all = JSON.stringify(app.logs);
    expect(all).not.toContain("password-in-the-clear");
    expect(all).not.toContain("someone@example.com");
  });

  test("the readyz failure is logged with status 503", async () => {
    const broken = await createTestApp({ listen: false });
    try {
      await closeStore(broken.db);
      const res = await broken.request("/readyz");
      const [line] = await requestLines(broken, res.headers.get("x-request-id")!);
      expect(line!.status).toBe(503);
    } finally {
      await broken.close();
    }
  });
});
