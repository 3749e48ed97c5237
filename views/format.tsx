/** Unix seconds as a `<time>` element in UTC, or a dash. */
export function Time({ at }: { at: number | null }): string {
  if (at === null) return "—";
  const iso = new Date(at * 1000).toISOString();
  return (
    <time datetime={iso} safe>
      {`${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`}
    </time>
  ) as string;
}
