// Passwords are stored as argon2id hashes (Bun.password). Their cost is
// configuration, so that tests hash cheaply while the server keeps the
// default; a hash carries its own parameters, so verifying needs no cost.

/** argon2id's memory (KiB) and time (passes) cost. */
export interface PasswordHashCost {
  memoryKib: number;
  iterations: number;
}

/** Bun's argon2id defaults, 64 MiB and 2 passes: what every stored hash so far was made with. */
export const defaultPasswordHashCost: PasswordHashCost = { memoryKib: 65536, iterations: 2 };
