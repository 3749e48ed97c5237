import { describe, expect, test } from "bun:test";
import { hashPassword, verifyPassword } from "../../src/accounts/users.ts";
import { loadConfig } from "../../src/config.ts";
import { testPasswordHashCost } from "../helpers.ts";

const password = "correct horse battery staple";

describe("the password hash cost", () => {
  test("the server's default is Bun's argon2id default: 64 MiB, two passes", async () => {
    const { passwordHashCost } = loadConfig({ GATEHOUSE_DATA_DIR: "/tmp/unused" });
    expect(passwordHashCost).toEqual({ memoryKib: 65536, iterations: 2 });
    expect(await hashPassword(password, passwordHashCost)).toStartWith("$argon2id$v=19$m=65536,t=2,p=1$");
  });

  test("a hash made at a lower cost carries its parameters and verifies", async () => {
    const hash = await hashPassword(password, testPasswordHashCost);
    expect(hash).toStartWith("$argon2id$v=19$m=64,t=1,p=1$");
    expect(await verifyPassword(password, hash, testPasswordHashCost)).toBe(true);
    expect(await verifyPassword("another password", hash, testPasswordHashCost)).toBe(false);
  });

  test("no stored hash never verifies", async () => {
    expect(await verifyPassword(password, null, testPasswordHashCost)).toBe(false);
  });
});
