import { ErrorNote } from "./parts.tsx";
import { Layout } from "./layout.tsx";
import { ProviderButtons, type ProviderButton } from "./provider-buttons.tsx";

export interface SetupProps {
  csrf: string;
  token: string;
  email?: string;
  error?: string;
  minPasswordLength: number;
  /** Set for an invitation link: the email is fixed and the form posts to the link. */
  invitation?: { email: string; isAdmin: boolean };
  /** Identity providers an invited person may sign in through instead of choosing a password. */
  providers?: ProviderButton[];
  /** Where to go once the account exists (a path on this server). */
  next: string;
}

/** The first-start setup link and an invitation link: both make an account with a password. */
export function SetupPage({
  csrf,
  token,
  email,
  error,
  minPasswordLength,
  invitation,
  providers,
  next,
}: SetupProps): string {
  const title = invitation ? "Join Gatehouse" : "Create the first admin";
  return (
    <Layout title={title}>
      <section class="card narrow">
        <h1>{title}</h1>
        {invitation ? (
          <p class="muted">
            You were invited{invitation.isAdmin ? " as an admin" : ""}. Choose a password to create your account; this
            link works once.
          </p>
        ) : (
          <p class="muted">This link works once: it stops working as soon as an admin exists.</p>
        )}
        <ErrorNote message={error} />
        <form method="post" action={invitation ? `/invite/${token}` : "/setup"}>
          <input type="hidden" name="csrf" value={csrf} />
          <input type="hidden" name="next" value={next} />
          {invitation ? "" : <input type="hidden" name="token" value={token} />}
          {/* biome-ignore lint/a11y/noLabelWithoutControl: the email input is inside, in either branch. */}
          <label>
            Email
            {invitation ? (
              <input type="email" name="email" value={invitation.email} autocomplete="username" readonly />
            ) : (
              <input type="email" name="email" value={email ?? ""} autocomplete="username" required />
            )}
          </label>
          <label>
            Password (at least {minPasswordLength} characters)
            <input
              type="password"
              name="password"
              autocomplete="new-password"
              minlength={String(minPasswordLength)}
              required
            />
          </label>
          <button type="submit">{invitation ? "Create account" : "Create admin"}</button>
        </form>
        {invitation && providers?.length ? (
          <>
            <hr />
            <p class="muted">Or sign in through a provider with the invited email address:</p>
            <ProviderButtons providers={providers} csrf={csrf} invitation={token} next={next} />
          </>
        ) : (
          ""
        )}
      </section>
    </Layout>
  ) as string;
}
