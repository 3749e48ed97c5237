import { Elysia } from "elysia";
import type { SignedIn } from "../accounts/sessions.ts";
import { findConnection, revokeConnection } from "../oauth/connections.ts";
import { ConfirmPage } from "../../views/confirm.tsx";
import { MessagePage } from "../../views/message.tsx";
import { setFlash } from "./flash.ts";
import { actsAsAdmin } from "./context.ts";
import type { WebDeps } from "../http/deps.ts";
import type { PageGuards } from "../http/page-guards.ts";

// Revoking a connection (an approved authorization), from the keys page: a
// person's own, or, for an admin, anyone's ("All users' connections", on the
// same page). The Revoke link asks first on a page of its own, naming the app
// and the person; its form posts, and the answer goes back to /keys with what
// happened. /keys is the only page listing connections, so the way back is
// fixed rather than taken from the request (no open redirect to guard).

const back = "/keys";

export function connectionRevokeRoutes(web: WebDeps, pages: PageGuards) {
  /** Whose connections this person may revoke: their own; anyone's when acting as an admin. */
  const ownerScope = (current: SignedIn) => (actsAsAdmin(current) ? null : current.user.id);

  return new Elysia()
    .use(pages)
    .get(
      "/connections/:id/revoke",
      async ({ current, viewer, csrf, params, set }) => {
        const connection = await findConnection(web.db, params.id, ownerScope(current));
        if (!connection) {
          set.status = 404;
          return noSuchConnection();
        }
        return ConfirmPage({
          viewer,
          csrf,
          question: `Revoke “${connection.clientName}” for ${connection.userEmail}?`,
          consequences: [
            "It gets 401 on its next request, and its refresh token stops working.",
            "To use it again, it must be connected and approved again. This cannot be undone.",
          ],
          action: `/connections/${connection.id}/revoke`,
          confirmLabel: "Revoke connection",
          cancel: back,
          danger: true,
        });
      },
      { signedIn: true },
    )
    .post(
      "/connections/:id/revoke",
      async ({ cookie, current, audit, set, params, redirect }) => {
        const { user } = current;
        const connection = await findConnection(web.db, params.id, ownerScope(current));
        if (
          !connection ||
          !(await revokeConnection(web.db, { id: connection.id, ownerId: ownerScope(current), now: web.now() }))
        ) {
          set.status = 404;
          return noSuchConnection();
        }
        web.log.info("connection revoked", { user_id: user.id, grant_id: params.id });
        audit.record({
          event: "connection_revoked",
          outcome: "ok",
          userId: user.id,
          grantId: params.id,
          detail: { via: "web" },
        });
        setFlash(
          cookie,
          web.secure,
          `Revoked “${connection.clientName}” for ${connection.userEmail}: it gets 401 from now on.`,
        );
        return redirect(back, 303);
      },
      { form: back, signedIn: true },
    );
}

function noSuchConnection(): string {
  return MessagePage({
    title: "No such connection",
    message: "That connection does not exist or is already revoked.",
    link: { href: back, label: "Back to API keys" },
  });
}
