import { Elysia } from "elysia";
import type { EndpointDeps } from "./endpoint.ts";
import { MessagePage } from "../../../views/message.tsx";
import { singleParam } from "../authorize-request.ts";
import { bridgeCallbackView } from "../bridge.ts";
import { findClientById } from "../clients-store.ts";
import { oauthPaths } from "../paths.ts";

/**
 * The polling bridge's callback: Gatehouse's own redirect URI, the page the
 * browser lands on. It only reads (the authorization endpoint recorded the
 * answer); the client fetches the code from the poll (bridge-poll.ts).
 */
export function bridgeCallbackRoutes(deps: Pick<EndpointDeps, "db" | "now">) {
  return new Elysia().get(oauthPaths.bridgeCallback, async ({ request, set }) => {
    set.headers["cache-control"] = "no-store";
    const view = await bridgeCallbackView(deps.db, singleParam(new URL(request.url).searchParams, "state"), deps.now());
    // Pending: the person has not answered, so nobody should be here yet.
    if (!view || view.status === "pending") {
      set.status = 400;
      return MessagePage({
        title: "This sign-in is not valid",
        message:
          "Gatehouse has no authorization waiting for this link, or it expired. Go back to the app and connect again.",
      });
    }
    const app = (await findClientById(deps.db, view.clientId))?.name ?? "the app";
    // The code never appears on the page: the app fetches it by polling.
    if (view.status === "failed") {
      return MessagePage({
        title: "Access not given",
        message: `${app} did not get access. You can close this tab and return to ${app}.`,
      });
    }
    return MessagePage({
      title: "You can return to the app",
      message: `${app} is connected. You can close this tab and return to ${app}.`,
    });
  });
}
