import { ErrorNote } from "./parts.tsx";
import { Layout } from "./layout.tsx";

export interface SetupProps {
  csrf: string;
  token: string;
  email?: string;
  error?: string;
  minPasswordLength: number;
}

export function SetupPage({ csrf, token, email, error, minPasswordLength }: SetupProps): string {
  return (
    <Layout title="Create the first admin">
      <section class="card narrow">
        <h1>Create the first admin</h1>
        <p class="muted">This link works once: it stops working as soon as an admin exists.</p>
        <ErrorNote message={error} />
        <form method="post" action="/setup">
          <input type="hidden" name="csrf" value={csrf} />
          <input type="hidden" name="token" value={token} />
          <label>
            Email
            <input type="email" name="email" value={email ?? ""} autocomplete="username" required />
          </label>
          <label>
            Password (at least {minPasswordLength} characters)
            <input type="password" name="password" autocomplete="new-password" minlength={String(minPasswordLength)} required />
          </label>
          <button type="submit">Create admin</button>
        </form>
      </section>
    </Layout>
  ) as string;
}
