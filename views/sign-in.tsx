import { ErrorNote } from "./parts.tsx";
import { Layout } from "./layout.tsx";
import { ProviderButtons, type ProviderButton } from "./provider-buttons.tsx";

export interface SignInProps {
  csrf: string;
  next: string;
  email?: string;
  /** Why the last try failed, shown in the form it came from; the other ways in stay usable (a throttled password form leaves key and provider sign-in). */
  error?: { form: "password" | "key"; message: string };
  /** Identity providers configured in GATEHOUSE_CONFIG, one button each. */
  providers?: ProviderButton[];
  /** No admin exists yet: say where the first one comes from. */
  firstStart?: boolean;
  /** What signing in leads to, when it comes from an app's authorization or a device: "Claude", "a device". */
  continueTo?: string;
}

export function SignInPage({ csrf, next, email, error, providers, firstStart, continueTo }: SignInProps): string {
  return (
    <Layout title="Sign in" chrome="minimal">
      <section class="card narrow">
        <h1>Sign in</h1>
        {continueTo ? (
          <p id="continue-to">
            to continue to <strong safe>{continueTo}</strong>
          </p>
        ) : (
          ""
        )}
        {firstStart ? (
          <p class="note" id="first-start">
            No admin account yet. Open the setup link the server printed when it started (the log line with{" "}
            <code>setup_url</code>), or create one on the server:{" "}
            <code>gatehouse user add --email you@example.com --admin</code>
          </p>
        ) : (
          ""
        )}
        <ProviderButtons providers={providers ?? []} csrf={csrf} next={next} />
        {providers?.length ? <hr /> : ""}
        <form method="post" action="/sign-in" id="password-sign-in">
          <ErrorNote message={error?.form === "password" ? error.message : undefined} />
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
        <form method="post" action="/sign-in/key" id="key-sign-in">
          <ErrorNote message={error?.form === "key" ? error.message : undefined} />
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
