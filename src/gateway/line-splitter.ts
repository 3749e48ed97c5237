/**
 * Newline-delimited text, chunk by chunk: each chunk is searched once, the
 * unfinished line kept aside is never searched again (a large message
 * arriving in many chunks costs its length, not its length times the
 * chunks). A line longer than `maxChars` is cut there when `cut` is set,
 * and is an error otherwise.
 */
export class LineSplitter {
  private pending = "";

  constructor(
    private readonly maxChars: number,
    private readonly cut = false,
  ) {}

  push(chunk: string): string[] {
    const lines: string[] = [];
    let start = 0;
    let newline = chunk.indexOf("\n");
    while (newline !== -1) {
      const piece = chunk.slice(start, newline);
      lines.push(this.pending === "" ? piece : this.pending + piece);
      this.pending = "";
      start = newline + 1;
      newline = chunk.indexOf("\n", start);
    }
    this.pending += chunk.slice(start);
    if (this.pending.length > this.maxChars) {
      if (!this.cut) throw new Error(`a line longer than ${this.maxChars} characters`);
      lines.push(this.pending);
      this.pending = "";
    }
    return lines;
  }

  /** The unfinished line at the end of the stream. */
  rest(): string {
    const rest = this.pending;
    this.pending = "";
    return rest;
  }
}
