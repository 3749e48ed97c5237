import { describe, expect, test } from "bun:test";
import { MissingRequiredClientCapabilityError } from "@modelcontextprotocol/server";
import { inputRoundRefusal, modernEncoded, projectedResult, wellFormedRound } from "../../src/mcp/call-result-wire.ts";

// The direct path's copy of what the SDK does to a tools/call result (src/mcp/call-result-wire.ts).
// direct-call.test.ts compares whole answers with the SDK's; these pin the rules no fixture reaches:
// a round the caller cannot answer, and the projections of non-object structured content.

const elicit = (mode?: "url") => ({
  method: "elicitation/create",
  params: { message: "?", ...(mode && { mode, url: "https://example.com", elicitationId: "e" }) },
});
const round = (inputRequests: Record<string, unknown>) =>
  ({ resultType: "input_required", inputRequests }) as Parameters<typeof inputRoundRefusal>[0];

describe("a round's requests against the caller's declared capabilities (-32021)", () => {
  test("elicitation declared without modes covers a form, not a URL", () => {
    expect(inputRoundRefusal(round({ a: elicit() }), { elicitation: {} })).toBeNull();
    const refusal = inputRoundRefusal(round({ a: elicit("url") }), { elicitation: {} });
    expect(refusal).toBeInstanceOf(MissingRequiredClientCapabilityError);
    expect(refusal?.code).toBe(-32021);
    expect(refusal?.data).toEqual({ requiredCapabilities: { elicitation: { url: {} } } });
    expect(refusal?.message).toContain("Cannot request input 'a' (elicitation/create)");
  });

  test("sampling with tools needs sampling.tools; roots needs roots", () => {
    const withTools = { method: "sampling/createMessage", params: { messages: [], maxTokens: 1, tools: [] } };
    expect(inputRoundRefusal(round({ s: withTools }), { sampling: {} })?.data).toEqual({
      requiredCapabilities: { sampling: { tools: {} } },
    });
    expect(inputRoundRefusal(round({ s: withTools }), { sampling: { tools: {} } })).toBeNull();
    expect(inputRoundRefusal(round({ r: { method: "roots/list" } }), {})?.data).toEqual({
      requiredCapabilities: { roots: {} },
    });
  });

  test("a round with neither requests nor state, or an unknown request, is not one Gatehouse sends", () => {
    expect(wellFormedRound(round({}))).toBe(false);
    expect(wellFormedRound(round({ x: { method: "ping" } }))).toBe(false);
    expect(wellFormedRound({ ...round({}), requestState: "s" })).toBe(true);
  });
});

describe("projection and encoding", () => {
  test("a non-object structured value gets its JSON as text in both eras, and is wrapped for 2025", () => {
    const result = { content: [], structuredContent: [1, 2] };
    expect(projectedResult(result, true, undefined)).toEqual({
      content: [{ type: "text", text: "[1,2]" }],
      structuredContent: [1, 2],
    });
    expect(projectedResult(result, false, undefined)).toEqual({
      content: [{ type: "text", text: "[1,2]" }],
      structuredContent: { result: [1, 2] },
    });
  });

  test("2026-07-28 stamps resultType and serverInfo, keeping a handler's own serverInfo", () => {
    const info = { name: "gatehouse", version: "1" };
    expect(JSON.stringify(modernEncoded({ content: [] }, info))).toBe(
      '{"content":[],"resultType":"complete","_meta":{"io.modelcontextprotocol/serverInfo":{"name":"gatehouse","version":"1"}}}',
    );
    const own = { content: [], _meta: { "io.modelcontextprotocol/serverInfo": { name: "up", version: "2" } } };
    expect(modernEncoded(own, info)._meta).toEqual(own._meta);
  });
});
