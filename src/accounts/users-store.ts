import { and, asc, count, eq, isNull, sql } from "drizzle-orm";
import type { Store } from "../db/store.ts";
import { first, q, type Steps } from "../db/transaction.ts";
import { preparedPerDb } from "../db/prepared.ts";
import type { users } from "../db/schema.ts";

export type User = typeof users.$inferSelect;
/** A person, or a service account (users.kind). */
export type UserKind = User["kind"];

export function* addUser(tx: Store, user: typeof users.$inferInsert): Steps<void> {
  yield* q(tx.insert(tx.tables.users).values(user));
}

export async function findUserByEmail(db: Store, email: string): Promise<User | null> {
  return first(await userByEmailQuery(db, email));
}

/** The account with this (normalized) email, or null, as a transaction body's step. */
export function* userByEmail(tx: Store, email: string): Steps<User | null> {
  return first(yield* q(userByEmailQuery(tx, email)));
}

function userByEmailQuery(db: Store, email: string) {
  const { users } = db.tables;
  return db.select().from(users).where(eq(users.email, email)).limit(1);
}

const userByIdQuery = preparedPerDb((db) => {
  const { users } = db.tables;
  return db
    .select()
    .from(users)
    .where(eq(users.id, sql.placeholder("id")))
    .prepare();
});

/** Prepared once (src/db/prepared.ts): the code exchange reads it too (userById). */
export async function findUserById(db: Store, id: string): Promise<User | null> {
  return first(await userByIdQuery(db).execute({ id }));
}

/** The account with this id, or null, as a transaction body's step (the code exchange's: prepared once). */
export function* userById(tx: Store, id: string): Steps<User | null> {
  return first(yield* q(userByIdQuery(tx), { id }));
}

export function listUsers(db: Store): Promise<User[]> {
  const { users } = db.tables;
  return Promise.resolve(db.select().from(users).orderBy(asc(users.createdAt), asc(users.email)));
}

export function* activeAdminCount(tx: Store): Steps<number> {
  return first(yield* q(activeAdminCountQuery(tx)))?.n ?? 0;
}

/** Outside a transaction (the setup link, the sign-in page, a confirmation page): a read. */
export async function countActiveAdmins(db: Store): Promise<number> {
  return first(await activeAdminCountQuery(db))?.n ?? 0;
}

function activeAdminCountQuery(db: Store) {
  const { users } = db.tables;
  return db
    .select({ n: count() })
    .from(users)
    .where(and(eq(users.isAdmin, true), isNull(users.disabledAt)));
}

export async function countUsers(db: Store): Promise<number> {
  const { users } = db.tables;
  return first(await db.select({ n: count() }).from(users))?.n ?? 0;
}

/** Disabled since `at`, or enabled again with null. */
export function* setUserDisabledAt(tx: Store, id: string, at: number | null): Steps<void> {
  const { users } = tx.tables;
  yield* q(tx.update(users).set({ disabledAt: at }).where(eq(users.id, id)));
}

export function* setPasswordHash(tx: Store, id: string, passwordHash: string): Steps<void> {
  const { users } = tx.tables;
  yield* q(tx.update(users).set({ passwordHash }).where(eq(users.id, id)));
}

export function* setUserAdmin(tx: Store, id: string, isAdmin: boolean): Steps<void> {
  const { users } = tx.tables;
  yield* q(tx.update(users).set({ isAdmin }).where(eq(users.id, id)));
}
