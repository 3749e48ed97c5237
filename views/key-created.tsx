import { Layout, type Viewer } from "./layout.tsx";

export interface KeyCreatedProps {
  viewer: Viewer;
  csrf: string;
  name: string;
  token: string;
  rotated: boolean;
}

/** The only time a key's secret is ever shown. */
export function KeyCreatedPage({ viewer, csrf, name, token, rotated }: KeyCreatedProps): string {
  return (
    <Layout title="Your new API key" viewer={viewer} csrf={csrf}>
      <section class="card">
        <h1 safe>{rotated ? `New secret for “${name}”` : `API key “${name}” created`}</h1>
        <p>Copy it now: it will not be shown again.</p>
        <div class="secret">
          <input type="text" id="new-key" value={token} readonly aria-label="API key" />
          <button type="button" data-copy="new-key">
            Copy
          </button>
        </div>
        <p>
          <a href="/keys">Back to API keys</a>
        </p>
      </section>
    </Layout>
  ) as string;
}
