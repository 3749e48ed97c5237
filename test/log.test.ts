import { describe, expect, test } from "bun:test";
import { join } from "node:path";

// stdoutLines gathers a turn's lines into one write: none may be lost or reordered.
async function run(script: string) {
  const logModule = join(import.meta.dir, "../src/log.ts");
  const child = Bun.spawn(
    [process.execPath, "-e", `import { createLogger } from ${JSON.stringify(logModule)};\n${script}`],
    { stdout: "pipe", stderr: "pipe" },
  );
  const [out, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
  return {
    lines: out
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>),
    code,
  };
}

describe("the stdout logger", () => {
  test("lines written in one turn and in later turns all arrive, in order", async () => {
    const { lines, code } = await run(
      `const log = createLogger(); for (let i = 0; i < 3; i++) log.info("a", { i }); await Bun.sleep(5); log.warn("b"); await Bun.sleep(5);`,
    );
    expect(code).toBe(0);
    expect(lines.map((l) => [l.level, l.msg, l.i])).toEqual([
      ["info", "a", 0],
      ["info", "a", 1],
      ["info", "a", 2],
      ["warn", "b", undefined],
    ]);
  });

  test("lines still pending when the process exits are written", async () => {
    const { lines, code } = await run(
      `const log = createLogger(); log.error("last words", { n: 1 }); process.exit(3);`,
    );
    expect(code).toBe(3);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: "error", msg: "last words", n: 1 });
  });
});
