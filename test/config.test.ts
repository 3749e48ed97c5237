import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig, parseDurationSeconds } from "../src/config.ts";

/** The error loadConfig throws for these settings, or a failure when it throws none. */
function configError(env: Record<string, string>, flags: Record<string, string> = {}): ConfigError {
  try {
    loadConfig(env, flags);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify({ env, flags })}`);
}

describe("defaults", () => {
  const config = loadConfig({});

  test("port is 8080", () => {
    expect(config.port).toBe(8080);
  });

  test("data dir is ./data", () => {
    expect(config.dataDir).toBe("./data");
  });

  test("public URL is http://localhost:8080", () => {
    expect(config.publicUrl).toBe("http://localhost:8080");
  });

  test("public URL follows PORT when unset", () => {
    expect(loadConfig({ PORT: "9123" }).publicUrl).toBe("http://localhost:9123");
  });

  test("token lifetimes are 3600, 2592000 and 600 seconds", () => {
    expect([config.accessTokenTtlSeconds, config.refreshTokenTtlSeconds, config.authCodeTtlSeconds]).toEqual([
      3600, 2592000, 600,
    ]);
  });

  test("rate limit is 100 a minute", () => {
    expect(config.rateLimitPerMinute).toBe(100);
  });

  test("proxy headers are not trusted", () => {
    expect(config.trustProxy).toBe(false);
  });

  test("metrics are off", () => {
    expect(config.metrics).toBe(false);
  });

  test("no Redis: rate limits count in the database or in memory", () => {
    expect(config.redisUrl).toBeNull();
  });

  test("an empty env value means the default", () => {
    expect(loadConfig({ PORT: "" }).port).toBe(8080);
  });
});

describe("sources", () => {
  test("env sets a value", () => {
    expect(loadConfig({ PORT: "9000" }).port).toBe(9000);
  });

  test("a flag overrides the env", () => {
    const config = loadConfig(
      { PORT: "9000", GATEHOUSE_DATA_DIR: "/env/dir" },
      { "--port": "9001", "--data-dir": "/flag/dir" },
    );
    expect([config.port, config.dataDir]).toEqual([9001, "/flag/dir"]);
  });

  test("a flag overrides the env for the public URL", () => {
    const config = loadConfig(
      { GATEHOUSE_PUBLIC_URL: "https://env.example.com" },
      { "--public-url": "https://flag.example.com" },
    );
    expect(config.publicUrl).toBe("https://flag.example.com");
  });

  test("the public URL loses its trailing slash", () => {
    expect(loadConfig({ GATEHOUSE_PUBLIC_URL: "https://gatehouse.example.com/" }).publicUrl).toBe(
      "https://gatehouse.example.com",
    );
  });

  test("http is allowed for 127.0.0.1", () => {
    expect(loadConfig({ GATEHOUSE_PUBLIC_URL: "http://127.0.0.1:8080" }).publicUrl).toBe("http://127.0.0.1:8080");
  });

  test("GATEHOUSE_TRUST_PROXY=true turns it on", () => {
    expect(loadConfig({ GATEHOUSE_TRUST_PROXY: "true" }).trustProxy).toBe(true);
  });

  test("GATEHOUSE_METRICS=true and --metrics true turn metrics on", () => {
    expect(loadConfig({ GATEHOUSE_METRICS: "true" }).metrics).toBe(true);
    expect(loadConfig({}, { "--metrics": "true" }).metrics).toBe(true);
  });
});

describe("durations", () => {
  test.each([
    ["3600", 3600],
    ["15m", 900],
    ["12h", 43200],
    ["30d", 2592000],
  ])("%s is %d seconds", (text, seconds) => {
    expect(loadConfig({ GATEHOUSE_ACCESS_TOKEN_TTL: text }).accessTokenTtlSeconds).toBe(seconds);
  });

  test.each(["0", "-5", "1.5h", "soon", "30 d", "1w"])("parseDurationSeconds refuses %p", (text) => {
    expect(parseDurationSeconds(text)).toBeNull();
  });
});

describe("refresh grace", () => {
  test("defaults to 60 seconds", () => {
    expect(loadConfig({}).refreshGraceSeconds).toBe(60);
  });

  test.each(["0", "0s"])("GATEHOUSE_REFRESH_GRACE=%s is zero: the strict rule", (text) => {
    expect(loadConfig({ GATEHOUSE_REFRESH_GRACE: text }).refreshGraceSeconds).toBe(0);
  });

  test("--refresh-grace 0 is zero too", () => {
    expect(loadConfig({}, { "--refresh-grace": "0" }).refreshGraceSeconds).toBe(0);
  });

  test.each(["-1", "soon", "1.5m"])("GATEHOUSE_REFRESH_GRACE=%s is refused", (text) => {
    expect(configError({ GATEHOUSE_REFRESH_GRACE: text }).message).toContain("GATEHOUSE_REFRESH_GRACE");
  });
});

describe("bad values throw ConfigError naming the env var", () => {
  test.each([
    ["PORT", "abc"],
    ["PORT", "70000"],
    ["GATEHOUSE_PUBLIC_URL", "http://example.com"],
    ["GATEHOUSE_PUBLIC_URL", "https://example.com/gatehouse"],
    ["GATEHOUSE_PUBLIC_URL", "https://example.com?x=1"],
    ["GATEHOUSE_PUBLIC_URL", "not a url"],
    ["GATEHOUSE_ACCESS_TOKEN_TTL", "0"],
    ["GATEHOUSE_REFRESH_TOKEN_TTL", "forever"],
    ["GATEHOUSE_AUTH_CODE_TTL", "10x"],
    ["GATEHOUSE_RATE_LIMIT_PER_MINUTE", "0"],
    ["GATEHOUSE_TRUST_PROXY", "maybe"],
    ["GATEHOUSE_METRICS", "on"],
    ["GATEHOUSE_REDIS_URL", "localhost:6379"],
    ["GATEHOUSE_REDIS_URL", "http://localhost:6379"],
    ["GATEHOUSE_REDIS_URL", "redis://"],
  ])("%s=%s", (name, value) => {
    expect(configError({ [name]: value }).message).toContain(name);
  });

  test("a bad flag names the env var and the flag", () => {
    const message = configError({}, { "--port": "abc" }).message;
    expect(message).toContain("PORT");
    expect(message).toContain("--port");
  });

  test("a Redis URL is redis:// or rediss://, and a bad one is never repeated: it may hold a password", () => {
    expect(loadConfig({ GATEHOUSE_REDIS_URL: "redis://localhost:6379" }).redisUrl).toBe("redis://localhost:6379");
    expect(loadConfig({}, { "--redis-url": "rediss://:pw@cache.internal:6380/2" }).redisUrl).toBe(
      "rediss://:pw@cache.internal:6380/2",
    );
    const message = configError({ GATEHOUSE_REDIS_URL: "https://user:s3cret@cache.internal" }).message;
    expect(message).toBe("GATEHOUSE_REDIS_URL (--redis-url): expected redis:// or rediss:// (TLS), got https://");
  });

  test("the message quotes the bad value", () => {
    expect(configError({ GATEHOUSE_TRUST_PROXY: "maybe" }).message).toContain('"maybe"');
  });
});
