import { createTestApp } from "../helpers.ts";
import { storeContract } from "./store-contract.ts";

// The store contract (store-contract.ts) on the embedded SQLite store: a fresh database file per test.
storeContract("SQLite", createTestApp);
