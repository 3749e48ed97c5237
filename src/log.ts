// One JSON object a line on stdout. Callers pass values, never secrets:
// request logs carry the path without its query, which may hold codes.

export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

/**
 * Lines to stdout, gathered within one turn of the event loop and written
 * together: under load that is one write for many request lines instead of a
 * system call each. Whatever is pending is written when the process exits.
 */
export function stdoutLines(): (line: string) => void {
  let pending = "";
  const flush = () => {
    if (pending === "") return;
    const out = pending;
    pending = "";
    process.stdout.write(out);
  };
  process.on("exit", flush);
  return (line) => {
    if (pending === "") setImmediate(flush);
    pending += line;
  };
}

export function createLogger(write: (line: string) => void = stdoutLines()): Logger {
  const emit = (level: string, msg: string, fields?: LogFields) =>
    write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
  return {
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
  };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
