import { Layout, type Viewer } from "./layout.tsx";
import { ErrorNote } from "./parts.tsx";
import { WriteToolCheckboxes, type WriteToolOption } from "./write-tools.tsx";

export interface ConsentProps {
  viewer: Viewer;
  csrf: string;
  /** The pending authorization request this form answers. */
  requestId: string;
  client: { name: string; kind: "dcr" | "manual" | "cimd" | "service"; metadataHost: string | null };
  /** Where the user goes after answering (a host, or scheme://host for an app's own scheme); null for a device (RFC 8628), which is not redirected to. */
  redirect: { label: string; loopback: boolean } | null;
  /** Where the answer is posted: the authorization endpoint, or the device page's consent. */
  action?: string;
  /** What each requested scope allows, in plain words. */
  scopes: { scope: string; description: string }[];
  access: AccessLevelProps;
  /** The write tools this session may grant, offered under Full access; ticked: none unless redrawn after an error. */
  writeTools: { offered: WriteToolOption[]; ticked: string[]; note?: string };
  error?: string;
}

export interface AccessLevelProps {
  /** Full is offered only when write access was requested and the user may give it. */
  offerFull: boolean;
  /** Why Full is not offered, when that is not obvious (a read-only API key). */
  note?: string;
}

/** The consent page: server-rendered, works without JavaScript. */
export function ConsentPage(props: ConsentProps): string {
  const { viewer, csrf, requestId, client, redirect, scopes, access, writeTools, error, action = "/oauth/authorize" } = props;
  return (
    <Layout title="Allow access?" viewer={viewer} csrf={csrf}>
      <section class="card narrow" id="consent">
        <h1>
          Allow <strong safe>{client.name}</strong> to use Gatehouse as you?
        </h1>
        {client.kind === "dcr" ? <p class="muted">The app chose this name itself; Gatehouse cannot check it.</p> : ""}
        {client.metadataHost ? (
          <p class="muted" id="metadata-host">
            App details from <strong safe>{client.metadataHost}</strong>
          </p>
        ) : ""}
        {redirect ? (
          <p id="redirect-host">
            After you answer you will be sent to <strong safe>{redirect.label}</strong>
            {redirect.loopback ? " (an app on this computer)" : ""}.
          </p>
        ) : (
          <p id="device-note">After you answer, go back to the device that showed you the code.</p>
        )}
        <h2>It asks to</h2>
        <ul id="scopes">
          {scopes.map((s) => (
            <li data-scope={s.scope} safe>
              {s.description}
            </li>
          ))}
        </ul>
        <ErrorNote message={error} />
        <form method="post" action={action}>
          <input type="hidden" name="csrf" value={csrf} />
          <input type="hidden" name="request" value={requestId} />
          <AccessLevelChoice {...access} />
          {access.offerFull ? <WriteToolChoice {...writeTools} /> : ""}
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

/** Shown while Full is chosen: the app may call only the ticked write tools (none is ticked for you). */
function WriteToolChoice({ offered, ticked, note }: ConsentProps["writeTools"]): string {
  return (
    <fieldset id="write-tools" class="write-tools">
      <legend>Tools that change things</legend>
      <p class="muted">With Full access the app may call only the tools you tick here, and every tool that only reads.</p>
      {note ? (
        <p class="muted" safe>
          {note}
        </p>
      ) : ""}
      <WriteToolCheckboxes tools={offered} ticked={ticked} />
    </fieldset>
  ) as string;
}

function AccessLevelChoice({ offerFull, note }: AccessLevelProps): string {
  return (
    <fieldset id="access-level">
      <legend>Access</legend>
      {offerFull ? (
        <label class="choice">
          <input type="radio" name="access" value="full" checked /> Full: read, and call tools that change things
        </label>
      ) : ""}
      <label class="choice">
        <input type="radio" name="access" value="read" checked={!offerFull} /> Read-only: only tools that change nothing
      </label>
      {note ? (
        <p class="muted" safe>
          {note}
        </p>
      ) : ""}
    </fieldset>
  ) as string;
}
