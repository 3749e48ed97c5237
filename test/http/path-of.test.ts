import { expect, test } from "bun:test";
import { pathOf } from "../../src/http/request-context.ts";

// The request log line's path, cut from Request.url without a URL parse.
test.each([
  ["http://127.0.0.1:8080/mcp", "/mcp"],
  ["https://gatehouse.example.com/keys/k1/rotate?x=1&y=2", "/keys/k1/rotate"],
  ["http://[::1]:3000/?next=/a", "/"],
  ["http://example.com", "/"],
  ["http://example.com/a%20b/c", "/a%20b/c"],
])("%s has path %s, as URL says", (url, path) => {
  expect(pathOf(url)).toBe(path);
  expect(pathOf(url)).toBe(new URL(url).pathname);
});
