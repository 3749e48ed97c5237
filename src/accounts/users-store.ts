import { and, asc, eq, isNull, sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { first, q, type Steps } from "../db/transaction.ts";
import { preparedPerDb } from "../db/prepared.ts";
import { users } from "../db/schema.ts";

export type User = typeof users.$inferSelect;
/** A person, or a service account (users.kind). */
export type UserKind = User["kind"];

export function insertUser(db: Db, user: typeof users.$inferInsert): void {
  db.insert(users).values(user).run();
}

export function findUserByEmail(db: Db, email: string): User | null {
  return db.select().from(users).where(eq(users.email, email)).get() ?? null;
}

/** The account with this (normalized) email, or null, as a transaction body's step. */
export function* userByEmail(tx: Db, email: string): Steps<User | null> {
  return first(yield* q(tx.select().from(users).where(eq(users.email, email)).limit(1)));
}

const userByIdQuery = preparedPerDb((db) =>
  db
    .select()
    .from(users)
    .where(eq(users.id, sql.placeholder("id")))
    .prepare(),
);

/** On the code exchange's path: prepared once (src/db/prepared.ts). */
export function findUserById(db: Db, id: string): User | null {
  return userByIdQuery(db).get({ id }) ?? null;
}

export function listUsers(db: Db): User[] {
  return db.select().from(users).orderBy(asc(users.createdAt), asc(users.email)).all();
}

export function countActiveAdmins(db: Db): number {
  const row = db
    .select({ n: sql<number>`count(*)` })
    .from(users)
    .where(and(eq(users.isAdmin, true), isNull(users.disabledAt)))
    .get();
  return row?.n ?? 0;
}

export function countUsers(db: Db): number {
  return db.select({ n: sql<number>`count(*)` }).from(users).get()?.n ?? 0;
}

export function markUserDisabled(db: Db, id: string, at: number): void {
  db.update(users).set({ disabledAt: at }).where(eq(users.id, id)).run();
}

export function markUserEnabled(db: Db, id: string): void {
  db.update(users).set({ disabledAt: null }).where(eq(users.id, id)).run();
}

export function updatePasswordHash(db: Db, id: string, passwordHash: string): void {
  db.update(users).set({ passwordHash }).where(eq(users.id, id)).run();
}

export function markUserAdmin(db: Db, id: string, isAdmin: boolean): void {
  db.update(users).set({ isAdmin }).where(eq(users.id, id)).run();
}
