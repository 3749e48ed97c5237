import { cookieName } from "../web/cookies.ts";

// The state of one sign-in through a provider, kept in the browser between
// POST /sign-in/<id> and the provider's redirect to the callback: a short-lived
// HttpOnly SameSite=Lax cookie, so no table is needed. Lax lets it ride along
// on the provider's top-level GET redirect back to us.

export const flowTtlSeconds = 600;

export interface SignInFlow {
  provider: string;
  state: string;
  nonce: string;
  /** The PKCE code verifier (RFC 7636 §4.1). */
  verifier: string;
  /** Where to go after signing in, already made safe by safeNextPath. */
  next: string;
  /** The invitation link's token when the flow began on /invite/<token>. */
  invitation: string | null;
  expiresAt: number;
}

export function flowCookieName(secure: boolean): string {
  return cookieName("gatehouse_signin_flow", secure);
}

export function encodeFlow(flow: SignInFlow): string {
  return Buffer.from(JSON.stringify(flow)).toString("base64url");
}

/** The flow a cookie holds, or null when it is missing, malformed or expired. */
export function decodeFlow(value: string | null, now: number): SignInFlow | null {
  if (value === null || !/^[A-Za-z0-9_-]{1,4096}$/.test(value)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, "base64url").toString("utf8"));
  } catch {
    return null;
  }
  if (typeof parsed !== "object" || parsed === null) return null;
  const f = parsed as Record<string, unknown>;
  const strings = ["provider", "state", "nonce", "verifier", "next"] as const;
  if (!strings.every((k) => typeof f[k] === "string" && f[k] !== "")) return null;
  if (f.invitation !== null && typeof f.invitation !== "string") return null;
  if (typeof f.expiresAt !== "number" || f.expiresAt <= now) return null;
  return f as unknown as SignInFlow;
}
