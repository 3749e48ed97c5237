import { describe, expect, test } from "bun:test";
import { join } from "node:path";

// No Docker engine here (README: Docker), so the Dockerfile is checked as text.
const dockerfile = await Bun.file(join(import.meta.dir, "../../Dockerfile")).text();
const images = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]!);

describe("the Dockerfile", () => {
  test("pins every base image by digest", () => {
    expect(images.length).toBe(2);
    for (const image of images) expect(image).toMatch(/^[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}$/);
  });

  test("builds on a Node LTS line that is still supported (22 or later)", () => {
    const node = images.find((image) => image.startsWith("node:"));
    expect(node).toBeDefined();
    expect(Number(/^node:(\d+)/.exec(node!)![1])).toBeGreaterThanOrEqual(22);
  });
});
