// Sorting and searching a long list (people, clients, keys, service accounts) from its query
// string: `?sort=<column>&dir=asc|desc&q=<text>`. Plain GET links and a GET form drive it, so it
// works without script. Pure: no I/O. An unknown column or direction falls back silently, as a
// stale bookmark should still open the page.

export type SortDirection = "asc" | "desc";

/** What the query asked for, once read: a known column, a direction, and the search text ("" for none). */
export interface ListQuery {
  sort: string;
  dir: SortDirection;
  q: string;
}

/** A sortable column: the value to sort by (null sorts last either way), and the direction of its first click. */
export interface SortColumn<Row> {
  value: (row: Row) => string | number | null;
  first: SortDirection;
}

/** A list's columns by query name, the default order, and the text the search box looks in. */
export interface ListSpec<Row> {
  columns: Record<string, SortColumn<Row>>;
  fallback: { sort: string; dir: SortDirection };
  text: (row: Row) => (string | null)[];
}

const maxSearchLength = 200;

export function readListQuery<Row>(params: URLSearchParams, spec: ListSpec<Row>): ListQuery {
  const q = (params.get("q") ?? "").trim().slice(0, maxSearchLength);
  const sort = params.get("sort") ?? "";
  const dir = params.get("dir");
  if (!Object.hasOwn(spec.columns, sort)) return { ...spec.fallback, q };
  return { sort, dir: dir === "asc" || dir === "desc" ? dir : spec.columns[sort]!.first, q };
}

function compare(a: string | number | null, b: string | number | null): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b), "en", { sensitivity: "base", numeric: true });
}

/** The rows whose text contains every word of `q` (any case), in the asked order; ties keep their order. */
export function applyListQuery<Row>(rows: readonly Row[], query: ListQuery, spec: ListSpec<Row>): Row[] {
  const words = query.q.toLowerCase().split(/\s+/).filter(Boolean);
  const found = rows.filter((row) => {
    const text = spec.text(row).join("\n").toLowerCase();
    return words.every((w) => text.includes(w));
  });
  const { value } = spec.columns[query.sort]!;
  const sign = query.dir === "asc" ? 1 : -1;
  return found.sort((x, y) => {
    const a = value(x);
    const b = value(y);
    if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
    return sign * compare(a, b);
  });
}
