import { Layout, type Viewer } from "./layout.tsx";
import { ErrorNote } from "./parts.tsx";

export interface DeviceCodeProps {
  viewer: Viewer;
  csrf: string;
  /** The code from a verification_uri_complete link, or what was typed before an error. */
  userCode: string;
  error?: string;
}

/** RFC 8628 §3.3: where a person types the code their device shows. */
export function DeviceCodePage({ viewer, csrf, userCode, error }: DeviceCodeProps): string {
  return (
    <Layout title="Connect a device" viewer={viewer} csrf={csrf} chrome="minimal">
      <section class="card narrow" id="device">
        <h1>Connect a device</h1>
        <p>Type the code your device or app shows. Only continue if you started this yourself.</p>
        <ErrorNote message={error} />
        <form method="post" action="/device">
          <input type="hidden" name="csrf" value={csrf} />
          <label for="user_code">Code</label>
          <input
            type="text"
            id="user_code"
            name="user_code"
            value={userCode}
            autocomplete="off"
            autocapitalize="characters"
            spellcheck="false"
            placeholder="XXXX-XXXX"
            maxlength="20"
            required
          />
          <p class="buttons">
            <button type="submit">Continue</button>
          </p>
        </form>
      </section>
    </Layout>
  ) as string;
}
