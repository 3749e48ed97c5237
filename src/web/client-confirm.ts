import type { OAuthClient } from "../oauth/clients-store.ts";
import { secretVersionOf } from "../oauth/client-secrets.ts";
import type { ConfirmProps } from "../../views/confirm.tsx";
import { plural } from "./wording.ts";

// What the clients pages ask before an action that cannot be taken back
// (views/confirm.tsx): the question names the client, the sentences say what
// stops working. Client IDs can be URLs (metadata documents), so the form
// sends the id as a field rather than in its path.

type Question = Omit<ConfirmProps, "viewer" | "csrf">;

/** Deleting a client ends every grant and token issued to it (the schema cascades). */
export function deleteQuestion(
  client: OAuthClient,
  use: { people: number; tokens: number },
  path: string,
  cancel: string,
): Question {
  const credentials =
    client.tokenEndpointAuthMethod === "none"
      ? "Its client ID stops working: an app using it can no longer ask anyone for access."
      : "Its client ID and secret stop working: an app using them can no longer ask anyone for access.";
  const connections = use.people === 0 ? "Nobody is connected with it now." : endsConnections(use);
  const after =
    client.kind === "manual"
      ? "This cannot be undone."
      : "The app can register again, but everyone must approve it again.";
  return {
    question: `Delete “${client.name}”?`,
    consequences: [connections, credentials, after],
    action: `${path}/delete`,
    fields: { client_id: client.id },
    confirmLabel: "Delete client",
    cancel,
    danger: true,
  };
}

/** A new secret for a confidential client (`secretHash` is its current secret's). */
export function newSecretQuestion(client: OAuthClient, secretHash: string, path: string, cancel: string): Question {
  return {
    question: `Make a new secret for “${client.name}”?`,
    consequences: [
      "Its current secret stops working at once: the app gets invalid_client when it asks for tokens until it has the new one.",
      "The new secret is shown once, to copy. Access tokens already issued keep working until they expire; refreshing them needs the new secret.",
    ],
    action: `${path}/secret`,
    fields: { client_id: client.id, secret_version: secretVersionOf(secretHash) },
    confirmLabel: "Make a new secret",
    cancel,
    danger: false,
  };
}

/** `It ends 2 people's connections at once, and its 4 live tokens get 401 from then on: …` */
function endsConnections({ people, tokens }: { people: number; tokens: number }): string {
  const whose = people === 1 ? "1 person's connection" : `${people} people's connections`;
  const live =
    tokens === 0 ? "" : `, and its ${plural(tokens, "live token")} ${tokens === 1 ? "gets" : "get"} 401 from then on`;
  return `It ends ${whose} at once${live}: to use it again, each must connect and approve it again.`;
}
