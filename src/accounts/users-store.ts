import { and, asc, eq, isNull, sql } from "drizzle-orm";
import type { Store } from "../db/store.ts";
import { first, q, runToEnd, type Steps } from "../db/transaction.ts";
import { preparedPerDb } from "../db/prepared.ts";
import { users } from "../db/schema.ts";

export type User = typeof users.$inferSelect;
/** A person, or a service account (users.kind). */
export type UserKind = User["kind"];

export function* addUser(tx: Store, user: typeof users.$inferInsert): Steps<void> {
  yield* q(tx.insert(users).values(user));
}

/** For fixtures outside any transaction body. */
export function insertUser(db: Store, user: typeof users.$inferInsert): void {
  runToEnd(addUser(db, user));
}

export function findUserByEmail(db: Store, email: string): User | null {
  return db.select().from(users).where(eq(users.email, email)).get() ?? null;
}

/** The account with this (normalized) email, or null, as a transaction body's step. */
export function* userByEmail(tx: Store, email: string): Steps<User | null> {
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
export function findUserById(db: Store, id: string): User | null {
  return userByIdQuery(db).get({ id }) ?? null;
}

/** The account with this id, or null, as a transaction body's step (the code exchange's: prepared once). */
export function* userById(tx: Store, id: string): Steps<User | null> {
  return first(yield* q(userByIdQuery(tx), { id }));
}

export function listUsers(db: Store): User[] {
  return db.select().from(users).orderBy(asc(users.createdAt), asc(users.email)).all();
}

export function* activeAdminCount(tx: Store): Steps<number> {
  const rows = yield* q(
    tx
      .select({ n: sql<number>`count(*)` })
      .from(users)
      .where(and(eq(users.isAdmin, true), isNull(users.disabledAt))),
  );
  return first(rows)?.n ?? 0;
}

/** Outside a transaction (the setup link, the sign-in page, a confirmation page): a read, now. */
export function countActiveAdmins(db: Store): number {
  return runToEnd(activeAdminCount(db));
}

export function countUsers(db: Store): number {
  return db.select({ n: sql<number>`count(*)` }).from(users).get()?.n ?? 0;
}

/** Disabled since `at`, or enabled again with null. */
export function* setUserDisabledAt(tx: Store, id: string, at: number | null): Steps<void> {
  yield* q(tx.update(users).set({ disabledAt: at }).where(eq(users.id, id)));
}

export function* setPasswordHash(tx: Store, id: string, passwordHash: string): Steps<void> {
  yield* q(tx.update(users).set({ passwordHash }).where(eq(users.id, id)));
}

export function* setUserAdmin(tx: Store, id: string, isAdmin: boolean): Steps<void> {
  yield* q(tx.update(users).set({ isAdmin }).where(eq(users.id, id)));
}
