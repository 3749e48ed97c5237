import type { ParseArgsConfig } from "node:util";
import { createAuditRecorder, type AuditRecorder } from "../audit/recorder.ts";
import type { Config } from "../config.ts";
import { openStore } from "../db/open.ts";
import type { Store } from "../db/store.ts";
import { NewerDatabaseError } from "../db/migrate.ts";
import { closeStore, migrateStore } from "../db/operations.ts";
import { createLogger } from "../log.ts";
import { findUserByEmail } from "../accounts/users-store.ts";
import { normalizeEmail } from "../accounts/users.ts";

export interface Io {
  env: Record<string, string | undefined>;
  out: (text: string) => void;
  err: (text: string) => void;
  readStdin: () => Promise<string>;
}

/** Bad arguments: exit 2. Every other failure exits 1. */
export class UsageError extends Error {}
export class RuntimeError extends Error {}

export type Options = NonNullable<ParseArgsConfig["options"]>;
/** Parsed flags; a repeatable one (`multiple: true`) is a list. */
export type Values = Record<string, string | boolean | string[] | undefined>;

export interface Command {
  usage: string;
  summary: string;
  options?: Options;
  positionals?: number;
  run(args: { values: Values; positionals: string[]; config: Config; io: Io }): Promise<void> | void;
}

export const now = () => Math.floor(Date.now() / 1000);

export function required(values: Values, name: string): string {
  const value = values[name];
  if (typeof value !== "string" || value === "") throw new UsageError(`--${name} is required`);
  return value;
}

export async function runMigrations(db: Store) {
  try {
    return await migrateStore(db);
  } catch (error) {
    if (error instanceof NewerDatabaseError) throw new RuntimeError(error.message);
    throw error;
  }
}

export async function openMigrated(
  config: Config,
  onApplied: (fields: { migrations: string }) => void,
): Promise<Store> {
  const db = openStore(config);
  try {
    const { applied } = await runMigrations(db);
    if (applied.length) onApplied({ migrations: applied.join(",") });
    return db;
  } catch (error) {
    await closeStore(db);
    throw error;
  }
}

export async function withDb(config: Config, fn: (db: Store) => void | Promise<void>): Promise<void> {
  const db = await openMigrated(config, () => {});
  try {
    await fn(db);
  } finally {
    await closeStore(db);
  }
}

/** The audit log for a command: each entry written at once (no batching), a failed write reported on stderr. */
export function commandAudit(db: Store, config: Config, io: Io): AuditRecorder {
  return createAuditRecorder({
    db,
    log: createLogger(io.err),
    now,
    argumentsMode: config.auditArguments,
    batch: false,
  });
}

/** A list's `--user EMAIL` filter: that person's id, null without the option, an error for an unknown address. */
export async function userFilter(db: Store, email: Values[string]): Promise<string | null> {
  if (typeof email !== "string") return null;
  const user = await findUserByEmail(db, normalizeEmail(email) ?? email);
  if (!user) throw new RuntimeError(`no user with the email ${email}`);
  return user.id;
}

export function isoDate(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 16).replace("T", " ");
}

export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return `${all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")).join("\n")}\n`;
}
