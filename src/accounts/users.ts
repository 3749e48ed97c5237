import type { Store } from "../db/store.ts";
import { transaction, type Steps } from "../db/transaction.ts";
import { randomString } from "../security/tokens.ts";
import { defaultPasswordHashCost, type PasswordHashCost } from "./password-cost.ts";
import { deleteSessionsOfUser } from "./sessions-store.ts";
import { deleteSetupTokens } from "./setup-tokens-store.ts";
import {
  activeAdminCount,
  countActiveAdmins,
  addUser,
  findUserByEmail,
  setPasswordHash,
  setUserAdmin,
  setUserDisabledAt,
  userByEmail,
  userById,
  type User,
} from "./users-store.ts";

export const minPasswordLength = 12;
const maxPasswordLength = 1024;
const maxEmailLength = 254;

export class AccountError extends Error {}

/** Service accounts' placeholder emails end in `@service.invalid` (RFC 2606): never a person's. */
export const serviceEmailDomain = "service.invalid";

/** A person's email, lowercased and trimmed; null when it is not a plausible address (or in the service accounts' domain). */
export function normalizeEmail(input: string): string | null {
  const email = input.trim().toLowerCase();
  if (email.length > maxEmailLength || !/^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+$/.test(email)) return null;
  if (email.endsWith(`@${serviceEmailDomain}`)) return null;
  return email;
}

export function checkPassword(password: string): string | null {
  if (password.length < minPasswordLength) return `The password must be at least ${minPasswordLength} characters long.`;
  if (password.length > maxPasswordLength) return `The password must be at most ${maxPasswordLength} characters long.`;
  return null;
}

export function hashPassword(password: string, cost: PasswordHashCost): Promise<string> {
  return Bun.password.hash(password, { algorithm: "argon2id", memoryCost: cost.memoryKib, timeCost: cost.iterations });
}

/**
 * Checks a password against a stored hash (whose own parameters set the
 * cost). With no hash (no such account, or no password) it hashes the
 * password at `cost` instead, so a failed sign-in takes as long whether or
 * not the address is known.
 */
export async function verifyPassword(password: string, hash: string | null, cost: PasswordHashCost): Promise<boolean> {
  if (hash === null) {
    await hashPassword(password, cost);
    return false;
  }
  return Bun.password.verify(password, hash);
}

/**
 * Creates an account. With `onlyIfNoAdmin` (the setup link) the check that
 * no admin exists runs in the same transaction as the insert, so two
 * racing setup forms cannot both make an admin. Creating an admin, by any
 * path, deletes every setup link in the same transaction: used once.
 */
export async function createUser(
  db: Store,
  input: {
    email: string;
    password: string | null;
    isAdmin: boolean;
    now: number;
    onlyIfNoAdmin?: boolean;
    /** The argon2id cost of the password's hash (config.passwordHashCost). */
    passwordCost?: PasswordHashCost;
    /** Runs after the insert, in the same transaction; a throw undoes the insert (an invitation claimed once). */
    alsoInTransaction?: (tx: Store, user: User) => Steps<void>;
  },
): Promise<User> {
  const email = normalizeEmail(input.email);
  if (email === null) throw new AccountError(`"${input.email}" is not a valid email address.`);
  if (input.password !== null) {
    const problem = checkPassword(input.password);
    if (problem) throw new AccountError(problem);
  }
  const user: User = {
    id: randomString(10),
    email,
    passwordHash:
      input.password === null
        ? null
        : await hashPassword(input.password, input.passwordCost ?? defaultPasswordHashCost),
    isAdmin: input.isAdmin,
    kind: "person",
    name: null,
    createdAt: input.now,
    disabledAt: null,
  };
  await transaction(db, function* (tx) {
    if (input.onlyIfNoAdmin && (yield* activeAdminCount(tx)) > 0) throw new AccountError("An admin already exists.");
    if (yield* userByEmail(tx, email)) throw new AccountError(`A user with the email ${email} already exists.`);
    yield* addUser(tx, user);
    if (user.isAdmin) yield* deleteSetupTokens(tx);
    if (input.alsoInTransaction) yield* input.alsoInTransaction(tx, user);
  });
  return user;
}

/**
 * Sets (or replaces) a person's password, by email (the CLI): how someone
 * who signs in with API keys gets a password, which admin pages need. Every
 * session of the account ends, as after any password change.
 */
export async function setPassword(
  db: Store,
  input: { email: string; password: string; passwordCost: PasswordHashCost },
): Promise<User> {
  const user = await findUserByEmail(db, normalizeEmail(input.email) ?? input.email);
  if (!user) throw new AccountError(`No user with the email ${input.email}.`);
  if (user.kind === "service") throw new AccountError("A service account never signs in, so it has no password.");
  const problem = checkPassword(input.password);
  if (problem) throw new AccountError(problem);
  const passwordHash = await hashPassword(input.password, input.passwordCost);
  await transaction(db, function* (tx) {
    yield* setPasswordHash(tx, user.id, passwordHash);
    yield* deleteSessionsOfUser(tx, user.id);
  });
  return { ...user, passwordHash };
}

/** Disables an account by email (the CLI); see disableAccount. */
export async function disableUser(db: Store, email: string, now: number): Promise<User> {
  const user = await findUserByEmail(db, normalizeEmail(email) ?? email);
  if (!user) throw new AccountError(`No user with the email ${email}.`);
  return disableAccount(db, user.id, now);
}

const lastAdminMessage = "Refusing to disable or demote the last active admin: make someone else an admin first.";

/** Why this account can be neither disabled nor demoted now (it is the last active admin); null when it can. A confirmation page's early answer: the change itself asks again, in its transaction. */
export async function lastAdminRefusal(db: Store, user: User): Promise<string | null> {
  return countsAdmins(user) ? refusalWith(await countActiveAdmins(db)) : null;
}

/** lastAdminRefusal inside a transaction body, counting the admins as the write will find them. */
function* lastAdminRefusalStep(tx: Store, user: User): Steps<string | null> {
  return countsAdmins(user) ? refusalWith(yield* activeAdminCount(tx)) : null;
}

/** The rule both share: only an active admin can be the last one, so no count is needed for anyone else. */
const countsAdmins = (user: User) => user.isAdmin && user.disabledAt === null;
const refusalWith = (activeAdmins: number) => (activeAdmins <= 1 ? lastAdminMessage : null);

/**
 * Disables an account: its sessions end now, and its API keys and OAuth
 * tokens stop working (every check reads users.disabled_at; the /mcp cache
 * drops its rows through the auth_epoch trigger). The last-admin check runs
 * in the same write transaction, so two admins disabling each other at once
 * cannot both succeed.
 */
export function disableAccount(db: Store, userId: string, now: number): Promise<User> {
  return transaction(db, function* (tx) {
    const user = yield* userById(tx, userId);
    if (!user) throw new AccountError("That account does not exist.");
    if (user.disabledAt !== null) return user;
    const refusal = yield* lastAdminRefusalStep(tx, user);
    if (refusal) throw new AccountError(refusal);
    yield* setUserDisabledAt(tx, user.id, now);
    yield* deleteSessionsOfUser(tx, user.id);
    return { ...user, disabledAt: now };
  });
}

export function enableAccount(db: Store, userId: string): Promise<User> {
  return transaction(db, function* (tx) {
    const user = yield* userById(tx, userId);
    if (!user) throw new AccountError("That account does not exist.");
    if (user.disabledAt !== null) yield* setUserDisabledAt(tx, user.id, null);
    return { ...user, disabledAt: null };
  });
}

/** Makes an account an admin or not; demoting the last active admin is refused, atomically. */
export function setAdmin(db: Store, userId: string, isAdmin: boolean): Promise<User> {
  return transaction(db, function* (tx) {
    const user = yield* userById(tx, userId);
    if (!user) throw new AccountError("That account does not exist.");
    if (user.kind === "service") throw new AccountError("A service account cannot be an admin.");
    if (user.isAdmin === isAdmin) return user;
    const refusal = isAdmin ? null : yield* lastAdminRefusalStep(tx, user);
    if (refusal) throw new AccountError(refusal);
    yield* setUserAdmin(tx, user.id, isAdmin);
    return { ...user, isAdmin };
  });
}
