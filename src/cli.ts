import { parseArgs } from "node:util";
import pkg from "../package.json";
import { accountCommands } from "./cli/account-commands.ts";
import { connectionCommands } from "./cli/connection-commands.ts";
import { UsageError, type Command, type Io, type Options, type Values } from "./cli/command.ts";
import { serverCommands } from "./cli/server-commands.ts";
import { serviceCommands } from "./cli/service-commands.ts";
import { ConfigError, loadConfig, settings } from "./config.ts";

export type { Io } from "./cli/command.ts";

const commands: Record<string, Command> = {
  ...serverCommands,
  ...accountCommands,
  ...connectionCommands,
  ...serviceCommands,
};
/** `user`, `key`, `connection`, `service`: the first word of every two-word command. */
export const commandGroups = [
  ...new Set(Object.keys(commands).flatMap((name) => (name.includes(" ") ? [name.split(" ")[0]!] : []))),
];
const settingOptions: Options = Object.fromEntries(
  Object.values(settings).map((s) => [s.flag.slice(2), { type: "string" }]),
);
const settingFlags = new Set(Object.values(settings).map((s) => s.flag));

function commandLines(prefix: string): string[] {
  return Object.entries(commands).flatMap(([name, c]) =>
    name.startsWith(prefix) ? [`  ${c.usage}`, `      ${c.summary}`] : [],
  );
}

function helpText(): string {
  const lines = [
    "Gatehouse: OAuth 2.1 authorization server and MCP gateway.",
    "",
    "Usage: gatehouse [command] [flags]",
    "",
    "Commands:",
  ];
  lines.push(...commandLines(""), "", "Settings (flag, or environment variable; flags win):");
  for (const s of Object.values(settings)) {
    const dflt = "default" in s ? ` (default ${s.default})` : "";
    lines.push(`  ${s.flag} VALUE, ${s.env}`, `      ${s.help}${dflt}`);
  }
  lines.push("", "  --help     show help for a command", "  --version  print the version", "");
  return lines.join("\n");
}

function findCommand(argv: string[]): { name: string; rest: string[] } {
  const [first, second] = argv;
  if (first === undefined || first.startsWith("-")) return { name: "serve", rest: argv };
  if (second !== undefined && commands[`${first} ${second}`])
    return { name: `${first} ${second}`, rest: argv.slice(2) };
  if (commands[first]) return { name: first, rest: argv.slice(1) };
  if (commandGroups.includes(first)) {
    throw new UsageError(
      `"${first}" needs a subcommand: ${Object.keys(commands)
        .filter((c) => c.startsWith(`${first} `))
        .join(", ")}`,
    );
  }
  throw new UsageError(`unknown command "${first}"; see gatehouse --help`);
}

/** The help to print for these arguments, or null when they ask for none. */
function helpFor(argv: string[]): string | null {
  const asked = (args: string[]) => args.includes("--help") || args.includes("-h");
  if (commandGroups.includes(argv[0] ?? "") && asked(argv.slice(1, 2))) {
    return [`Usage: gatehouse ${argv[0]} COMMAND [flags]`, "", "Commands:", ...commandLines(`${argv[0]} `), ""].join(
      "\n",
    );
  }
  const { name, rest } = findCommand(argv);
  if (!asked(rest)) return null;
  if (name === "serve" && argv[0] !== "serve") return helpText();
  const c = commands[name]!;
  return `Usage: ${c.usage}\n  ${c.summary}\n\nAlso accepts the settings flags listed in gatehouse --help.\n`;
}

/** Runs one CLI invocation; resolves to the process exit code. */
export async function runCli(argv: string[], io: Io): Promise<number> {
  try {
    if (argv.includes("--version")) {
      io.out(`gatehouse ${pkg.version}\n`);
      return 0;
    }
    const help = helpFor(argv);
    if (help !== null) {
      io.out(help);
      return 0;
    }
    const { name, rest } = findCommand(argv);
    const command = commands[name]!;
    let parsed: ReturnType<typeof parseArgs>;
    try {
      parsed = parseArgs({
        args: rest,
        options: { ...settingOptions, ...command.options },
        allowPositionals: true,
        strict: true,
      });
    } catch (error) {
      throw new UsageError(error instanceof Error ? error.message : String(error));
    }
    const expected = command.positionals ?? 0;
    if (parsed.positionals.length !== expected) {
      throw new UsageError(
        expected === 0 ? `unexpected argument "${parsed.positionals[0]}"` : `usage: ${command.usage}`,
      );
    }
    const values = parsed.values as Values;
    const flags = Object.fromEntries(
      Object.entries(values).flatMap(([k, v]) =>
        typeof v === "string" && settingFlags.has(`--${k}`) ? [[`--${k}`, v]] : [],
      ),
    );
    await command.run({ values, positionals: parsed.positionals, config: loadConfig(io.env, flags), io });
    return 0;
  } catch (error) {
    io.err(`gatehouse: ${error instanceof Error ? error.message : String(error)}\n`);
    return error instanceof UsageError || error instanceof ConfigError ? 2 : 1;
  }
}
