// Why a sign-in through a provider was refused: one reason each, a status and
// words a person can act on. The reason goes to the audit log; internal
// details (a provider's error text) go to the server log only.

export type RefusalReason =
  | "flow_expired"
  | "state_mismatch"
  | "provider_error"
  | "access_denied"
  | "invalid_response"
  | "provider_unreachable"
  | "unverified_email"
  | "domain_not_allowed"
  | "org_not_allowed"
  | "no_invitation"
  | "invitation_mismatch"
  | "account_disabled"
  | "account_not_allowed";

export class SignInRefused extends Error {
  constructor(
    readonly reason: RefusalReason,
    /** For the server log only: what the provider or the library said. */
    readonly internal = "",
  ) {
    super(reason);
  }
}

export function refusalPage(
  reason: RefusalReason,
  providerName: string,
): { status: number; title: string; message: string } {
  const p = providerName;
  switch (reason) {
    case "flow_expired":
      return {
        status: 400,
        title: "Sign-in expired",
        message: `This sign-in through ${p} expired or was started in another browser. Start again from the sign-in page.`,
      };
    case "state_mismatch":
      return {
        status: 400,
        title: "Sign-in refused",
        message: `The answer from ${p} does not belong to the sign-in this browser started (state mismatch). Start again from the sign-in page.`,
      };
    case "access_denied":
      return {
        status: 403,
        title: "Sign-in cancelled",
        message: `${p} did not let you sign in (access denied). Start again if you meant to.`,
      };
    case "provider_error":
      return {
        status: 400,
        title: "Sign-in refused",
        message: `${p} answered with an error instead of signing you in. Try again, or ask an admin to check the provider's settings.`,
      };
    case "invalid_response":
      return {
        status: 400,
        title: "Sign-in refused",
        message: `${p}'s answer failed Gatehouse's checks (issuer, ID token, nonce or code). Nobody was signed in. If this keeps happening, ask an admin to check the provider's settings.`,
      };
    case "provider_unreachable":
      return {
        status: 502,
        title: "Provider unreachable",
        message: `Gatehouse could not reach ${p}. Try again in a moment.`,
      };
    case "unverified_email":
      return {
        status: 403,
        title: "Email not verified",
        message: `${p} did not confirm that your email address is verified. Verify it at ${p} (for GitHub: the primary email), then try again.`,
      };
    case "domain_not_allowed":
      return {
        status: 403,
        title: "Email domain not allowed",
        message: `Your email address's domain may not sign in through ${p} here. Use an address of an allowed domain, or ask an admin.`,
      };
    case "org_not_allowed":
      return {
        status: 403,
        title: "Organization required",
        message: `You are not a member of an organization allowed to sign in through ${p} (or did not grant Gatehouse access to it). Ask an admin.`,
      };
    case "no_invitation":
      return {
        status: 403,
        title: "Invitation needed",
        message: `There is no Gatehouse account or invitation for the email address ${p} gave. Ask an admin to invite you.`,
      };
    case "invitation_mismatch":
      return {
        status: 403,
        title: "Invitation is for someone else",
        message: `This invitation is for another email address than the one ${p} gave. Sign in at ${p} with the invited address, or ask an admin.`,
      };
    case "account_disabled":
      return { status: 403, title: "Account disabled", message: "Your Gatehouse account is disabled. Ask an admin." };
    case "account_not_allowed":
      return { status: 403, title: "Sign-in refused", message: "This account cannot sign in through a provider." };
  }
}
