import { expect } from "bun:test";
import type { TestApp } from "../helpers.ts";

// Reading /metrics as Prometheus would: the text exposition format 0.0.4,
// one `name{label="value",...} number` line per sample, comments with #.

const samplePattern = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/;
const labelPattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Every sample of an exposition; a line that is neither a comment nor a sample fails the test. */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = samplePattern.exec(line);
    expect(match, `not a sample line: ${line}`).not.toBeNull();
    const labels: Record<string, string> = {};
    for (const [, name, value] of match![2]?.matchAll(labelPattern) ?? []) labels[name!] = value!;
    samples.push({ name: match![1]!, labels, value: Number(match![3]) });
  }
  return samples;
}

/** The value of the sample named `name` with exactly these labels among its own, or 0 when there is none yet. */
export function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.find(
    (s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value),
  );
  return found?.value ?? 0;
}

/** GET /metrics with an admin's API key, expected to succeed. */
export async function scrape(app: TestApp, adminKey: string): Promise<Sample[]> {
  const res = await app.request("/metrics", { headers: { authorization: `Bearer ${adminKey}` } });
  expect(res.status).toBe(200);
  return parseExposition(await res.text());
}
