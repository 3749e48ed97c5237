import type { ListQuery, SortDirection } from "../src/web/list-query.ts";

// A long list's sort headers and search box (src/web/list-query.ts reads them back): plain links
// and a GET form, so they work without script.

/** Where a list lives and how it is sorted and searched now. */
export interface ListView extends ListQuery {
  path: string;
}

/** The list's address with this order and search. */
function listHref(path: string, sort: string, dir: SortDirection, q: string): string {
  const params = new URLSearchParams({ sort, dir });
  if (q) params.set("q", q);
  return `${path}?${params}`;
}

const ariaSort = { asc: "ascending", desc: "descending" } as const;

/**
 * A column header that sorts the list by it: first by `first`, then the other way on each click.
 * The sorted column carries aria-sort (WAI-ARIA 1.2 §6.7), an arrow hidden from screen readers.
 */
export function SortHeader({
  list,
  column,
  label,
  first,
}: {
  list: ListView;
  column: string;
  label: string;
  first: SortDirection;
}): string {
  const sorted = list.sort === column;
  const next = sorted ? (list.dir === "asc" ? "desc" : "asc") : first;
  return (
    <th aria-sort={sorted ? ariaSort[list.dir] : undefined}>
      <a href={listHref(list.path, column, next, list.q)} class="sort">
        <span safe>{label}</span>
        {sorted ? <span aria-hidden="true">{list.dir === "asc" ? " ▲" : " ▼"}</span> : ""}
      </a>
    </th>
  ) as string;
}

/** A GET search form over the list, keeping its order; "Clear" while a search is on. */
export function SearchBox({ list, label }: { list: ListView; label: string }): string {
  return (
    <form method="get" action={list.path} class="search">
      <label>
        <span safe>{label}</span>
        <input type="search" name="q" value={list.q} maxlength="200" />
      </label>
      <input type="hidden" name="sort" value={list.sort} />
      <input type="hidden" name="dir" value={list.dir} />
      <button type="submit" class="secondary">
        Search
      </button>
      {list.q ? <a href={listHref(list.path, list.sort, list.dir, "")}>Clear</a> : ""}
    </form>
  ) as string;
}

/** In place of an empty list's table: what was searched for found nothing. */
export function NoMatches({ list, id }: { list: ListView; id: string }): string {
  return (
    <p id={id} safe>
      {`Nothing matches "${list.q}".`}
    </p>
  ) as string;
}
