import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { holdServerLock, serverLockFileName, takeRestoreLock } from "../../src/db/server-lock.ts";
import { tempDir } from "../helpers.ts";

// The lock `gatehouse serve` holds and `gatehouse restore` needs
// (src/db/server-lock.ts). SQLite tracks the locks of connections in one
// process as it does across processes; test/cli/restore.test.ts has the real
// server processes.

let root: string;
let dataDir: string;
const releases: (() => void)[] = [];
beforeEach(() => {
  root = tempDir();
  dataDir = join(root, "data");
});
afterEach(() => {
  for (const release of releases.splice(0)) release();
  rmSync(root, { recursive: true, force: true });
});

function serverLock(waitMs?: number): () => void {
  const release = holdServerLock(dataDir, waitMs);
  releases.push(release);
  return release;
}

describe("the server lock", () => {
  test("a restore cannot take it while a server holds it", () => {
    serverLock();
    expect(takeRestoreLock(dataDir)).toBeNull();
  });

  test("a restore takes it once the server has released it", () => {
    serverLock()();
    releases.length = 0;
    const release = takeRestoreLock(dataDir);
    expect(release).toBeFunction();
    release!();
  });

  test("two servers on one data dir both hold it", () => {
    serverLock();
    expect(serverLock()).toBeFunction();
    expect(takeRestoreLock(dataDir)).toBeNull();
  });

  test("a server cannot start during a restore, and says why", () => {
    const release = takeRestoreLock(dataDir)!;
    try {
      expect(() => serverLock(0)).toThrow(`gatehouse restore is replacing the database in ${dataDir}`);
    } finally {
      release();
    }
    expect(serverLock(0)).toBeFunction();
  });

  test("the lock file is 0600 in a 0700 data dir", () => {
    serverLock();
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, serverLockFileName)).mode & 0o777).toBe(0o600);
  });
});
