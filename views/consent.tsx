import type { ClientKind } from "../src/oauth/clients-store.ts";
import { AccessFields, LimitList, type AccessFieldsProps, type LimitItem } from "./access.tsx";
import { Layout, type Viewer } from "./layout.tsx";
import { ErrorNote } from "./parts.tsx";

export interface ConsentProps {
  viewer: Viewer;
  csrf: string;
  /** The pending authorization request this form answers. */
  requestId: string;
  /** registeredBy: the email of the person who registered it on /clients, null for the others. */
  client: { name: string; kind: ClientKind; metadataHost: string | null; registeredBy: string | null };
  /** Where the user goes after answering (a host, or scheme://host for an app's own scheme); null for a device (RFC 8628), which is not redirected to. */
  redirect: { label: string; loopback: boolean } | null;
  /** For a device's request (RFC 8628 §3.3): the user code, for the person to compare with what the device shows. */
  userCode?: string;
  /** Where the answer is posted: the authorization endpoint, or the device page's consent. */
  action?: string;
  /** What each requested scope allows, in plain words. */
  scopes: { scope: string; description: string }[];
  /** Read-only, Full, or Full with only the ticked write tools: what this person may give this app. */
  access: AccessFieldsProps;
  /** Argument limits that will apply whatever is chosen: an admin's policy for this person, and the session key's. */
  limits?: { policy: LimitItem[]; key: LimitItem[] };
  error?: string;
}

/** The consent page: server-rendered, works without JavaScript. */
export function ConsentPage(props: ConsentProps): string {
  const {
    viewer,
    csrf,
    requestId,
    client,
    redirect,
    scopes,
    access,
    limits = { policy: [], key: [] },
    error,
    userCode,
    action = "/oauth/authorize",
  } = props;
  return (
    <Layout title="Allow access?" viewer={viewer} csrf={csrf} chrome="minimal">
      <section class="card narrow" id="consent">
        <h1>
          Allow <strong safe>{client.name}</strong> to use Gatehouse as you?
        </h1>
        {client.kind === "dcr" ? <p class="muted">The app chose this name itself; Gatehouse cannot check it.</p> : ""}
        {client.registeredBy ? (
          <p class="muted" id="registered-by">
            Registered on this server by <strong safe>{client.registeredBy}</strong>
          </p>
        ) : (
          ""
        )}
        {client.metadataHost ? (
          <p class="muted" id="metadata-host">
            App details from <strong safe>{client.metadataHost}</strong>
          </p>
        ) : (
          ""
        )}
        {redirect ? (
          <p id="redirect-host">
            After you answer you will be sent to <strong safe>{redirect.label}</strong>
            {redirect.loopback ? " (an app on this computer)" : ""}.
          </p>
        ) : (
          <>
            {userCode ? (
              <p id="user-code">
                Check that your device shows{" "}
                <strong class="user-code" safe>
                  {userCode}
                </strong>
                . If it does not, deny.
              </p>
            ) : (
              ""
            )}
            <p id="device-note">After you answer, go back to the device that showed you the code.</p>
          </>
        )}
        <h2>It asks to</h2>
        <ul id="scopes">
          {scopes.map((s) => (
            <li data-scope={s.scope} safe>
              {s.description}
            </li>
          ))}
        </ul>
        {limits.policy.length > 0 || limits.key.length > 0 ? (
          <div id="argument-limits">
            <h2>Limits that apply</h2>
            {limits.policy.length > 0 ? (
              <>
                <p class="muted">Set for you by an admin of this Gatehouse:</p>
                <LimitList items={limits.policy} id="policy-limits" />
              </>
            ) : (
              ""
            )}
            {limits.key.length > 0 ? (
              <>
                <p class="muted">
                  From the API key you signed in with; you can change them on the API keys page afterwards, within the
                  key's:
                </p>
                <LimitList items={limits.key} id="key-limits" />
              </>
            ) : (
              ""
            )}
          </div>
        ) : (
          ""
        )}
        <ErrorNote message={error} />
        <form method="post" action={action}>
          <input type="hidden" name="csrf" value={csrf} />
          <input type="hidden" name="request" value={requestId} />
          <AccessFields {...access} />
          <p class="buttons">
            <button type="submit" name="decision" value="allow">
              Allow
            </button>
            <button type="submit" name="decision" value="deny" class="secondary">
              Deny
            </button>
          </p>
        </form>
      </section>
    </Layout>
  ) as string;
}
