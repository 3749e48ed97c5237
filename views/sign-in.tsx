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
}

export function SignInPage({ csrf, next, email, error, providers }: SignInProps): string {
  return (
    <Layout title="Sign in">
      <section class="card narrow">
        <h1>Sign in</h1>
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
