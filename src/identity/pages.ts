import type { ProviderButton } from "../../views/provider-buttons.tsx";
import { cspAllowingForms } from "../security/csp.ts";
import type { IdentityProviderConfig } from "./config.ts";

// What the sign-in and invitation pages need to show the providers' buttons.

export function providerButtons(providers: IdentityProviderConfig[] | undefined): ProviderButton[] {
  return (providers ?? []).map((p) => ({ id: p.id, name: p.name }));
}

/**
 * The page's Content-Security-Policy with the providers' origins added to
 * `form-action`: browsers check a form's redirects against it (CSP 3
 * §6.4.1), and the provider buttons' POST is answered with a redirect there.
 * The authorization endpoint is assumed on the issuer's (or github_url's) origin.
 */
export function allowProviderForms(
  headers: Record<string, unknown>,
  providers: IdentityProviderConfig[] | undefined,
): void {
  const origins = [
    ...new Set((providers ?? []).map((p) => new URL(p.type === "github" ? p.githubUrl : p.issuer!).origin)),
  ];
  if (origins.length > 0) headers["content-security-policy"] = cspAllowingForms(origins);
}
