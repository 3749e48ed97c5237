import { describe, expect, test } from "bun:test";
import { applyListQuery, readListQuery, type ListSpec } from "../../src/web/list-query.ts";

interface Row {
  name: string;
  at: number | null;
}
const spec: ListSpec<Row> = {
  columns: {
    name: { value: (r) => r.name, first: "asc" },
    at: { value: (r) => r.at, first: "desc" },
  },
  fallback: { sort: "at", dir: "desc" },
  text: (r) => [r.name],
};
const rows: Row[] = [
  { name: "beta", at: 2 },
  { name: "Alpha", at: null },
  { name: "gamma ray", at: 3 },
  { name: "key 10", at: 1 },
  { name: "key 9", at: 1 },
];
const read = (query: string) => readListQuery(new URLSearchParams(query), spec);
const names = (query: string) => applyListQuery(rows, read(query), spec).map((r) => r.name);

describe("readListQuery", () => {
  test("reads a known column, a direction and the search text", () => {
    expect(read("sort=name&dir=desc&q=%20ray%20")).toEqual({ sort: "name", dir: "desc", q: "ray" });
  });

  test("an unknown column falls back to the default order silently", () => {
    expect(read("sort=secret_hash&dir=asc")).toEqual({ sort: "at", dir: "desc", q: "" });
    expect(read("sort=__proto__")).toEqual({ sort: "at", dir: "desc", q: "" });
  });

  test("a missing or unknown direction is the column's first", () => {
    expect(read("sort=name&dir=up")).toEqual({ sort: "name", dir: "asc", q: "" });
    expect(read("sort=at")).toEqual({ sort: "at", dir: "desc", q: "" });
  });
});

describe("applyListQuery", () => {
  test("sorts text without regard to case, numbers in text by value", () => {
    expect(names("sort=name&dir=asc")).toEqual(["Alpha", "beta", "gamma ray", "key 9", "key 10"]);
    expect(names("sort=name&dir=desc")).toEqual(["key 10", "key 9", "gamma ray", "beta", "Alpha"]);
  });

  test("null sorts last both ways; ties keep their order", () => {
    expect(names("sort=at&dir=desc")).toEqual(["gamma ray", "beta", "key 10", "key 9", "Alpha"]);
    expect(names("sort=at&dir=asc")).toEqual(["key 10", "key 9", "beta", "gamma ray", "Alpha"]);
  });

  test("the search keeps rows holding every word, in any case", () => {
    expect(names("q=KEY")).toEqual(["key 10", "key 9"]);
    expect(names("q=key+9")).toEqual(["key 9"]);
    expect(names("q=nothing")).toEqual([]);
  });
});
