import type { Access, Ceiling } from "../mcp/access.ts";
import {
  inheritLimits,
  limitsWithin,
  parseLimitLines,
  storedLimits,
  toolsOutside,
  type ArgumentLimits,
} from "../mcp/argument-gates.ts";
import { field } from "./context.ts";

// The argument limits box of the keys page (a new key, or a connection's
// limits after approval): `tool:argument=pattern` lines, checked against
// the access they limit and, in a session opened with an API key, against
// that key's own limits. Refused with why, never trimmed.

export type LimitsFromForm = { ok: true; limits: ArgumentLimits | null } | { ok: false; error: string };

/**
 * The limits posted as `argument_limits` for `access`: only on write tools
 * it may call (`offered`: the write tools /mcp offers now, for Full access),
 * and with the ceiling key's limits added where not restated, so the result
 * never allows more than that key.
 */
export function limitsFromForm(
  body: unknown,
  access: Access,
  offered: readonly string[],
  ceiling: Ceiling,
): LimitsFromForm {
  const parsed = parseLimitLines(field(body, "argument_limits").split("\n"));
  if (!parsed.ok) return parsed;
  const own = parsed.limits;
  if (access.level === "read") {
    return Object.keys(own).length === 0
      ? { ok: true, limits: null }
      : { ok: false, error: "Read-only access calls no write tool, so it takes no argument limits." };
  }
  const outside = toolsOutside(own, access.tools, offered);
  if (outside.length > 0)
    return {
      ok: false,
      error: `${outside.join(", ")} is not a write tool this access may call; argument limits apply to those.`,
    };
  const limits = inheritLimits(own, ceiling?.limits ?? null, access.tools);
  if (!limitsWithin(limits, ceiling?.limits ?? null, access.tools)) {
    return {
      ok: false,
      error:
        "The API key you signed in with has narrower argument limits: use its patterns, or plain values they allow.",
    };
  }
  return { ok: true, limits: storedLimits(limits) };
}
