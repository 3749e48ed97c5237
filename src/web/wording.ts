// Small helpers for the sentences pages say.

/** `1 key`, `2 keys`; `pluralNoun` where adding an s is wrong (`person`, `people`). */
export function plural(n: number, noun: string, pluralNoun = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : pluralNoun}`;
}
