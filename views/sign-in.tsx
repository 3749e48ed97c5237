import { ErrorNote } from "./parts.tsx";
import { Layout } from "./layout.tsx";
import { ProviderButtons, type ProviderButton } from "./provider-buttons.tsx";

export interface SignInProps {
  csrf: string;
  next: string;
  email?: string;
  error?: string;
  /** Identity providers configured in GATEHOUSE_CONFIG, one button each. */
  providers?: ProviderButton[];
  /** No admin exists yet: say where the first one comes from. */
  firstStart?: boolean;
}

export function SignInPage({ csrf, next, email, error, providers, firstStart }: SignInProps): string {
  return (
    <Layout title="Sign in" chrome="minimal">
      <section class="card narrow">
        <h1>Sign in</h1>
        {firstStart ? (
          <p class="note" id="first-start">
            No admin account yet. Open the setup link the server printed when it started (the log line with{" "}
            <code>setup_url</code>), or create one on the server:{" "}
            <code>gatehouse user add --email you@example.com --admin</code>
          </p>
        ) : (
          ""
        )}
        <ErrorNote message={error} />
        <ProviderButtons providers={providers ?? []} csrf={csrf} next={next} />
        {providers?.length ? <hr /> : ""}
        <form method="post" action="/sign-in">
          <input type="hidden" name="csrf" value={csrf} />
          <input type="hidden" name="next" value={next} />
          <label>
            Email
            <input type="email" name="email" value={email ?? ""} autocomplete="username" required />
          </label>
          <label>
            Password
            <input type="password" name="password" autocomplete="current-password" required />
          </label>
          <button type="submit">Sign in</button>
        </form>
        <hr />
        <form method="post" action="/sign-in/key">
          <input type="hidden" name="csrf" value={csrf} />
          <input type="hidden" name="next" value={next} />
          <label>
            Or paste an API key
            <input type="password" name="api_key" autocomplete="off" placeholder="gate_key_…" required />
          </label>
          <button type="submit" class="secondary">
            Sign in with API key
          </button>
        </form>
      </section>
    </Layout>
  ) as string;
}
