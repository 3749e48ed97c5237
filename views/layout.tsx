import type { PropsWithChildren } from "@kitajs/html";
import { PostButton } from "./parts.tsx";

export interface Viewer {
  email: string;
  isAdmin: boolean;
  /** What this person's last action did (Post/Redirect/Get, src/web/flash.ts), shown once above the page. */
  flash?: string | null;
}

export interface LayoutProps {
  title: string;
  viewer?: Viewer | null;
  /** The form token, needed for the sign-out button when someone is signed in. */
  csrf?: string;
  /**
   * "minimal" for the pages a person reaches from an app or a device (sign-in, consent, device):
   * the brand, who is signed in and Sign out, without the console's links.
   */
  chrome?: "full" | "minimal";
}

/** Who is signed in, and the button to sign out. */
function Account({ viewer, csrf }: { viewer: Viewer; csrf: string | undefined }): string {
  return (
    <>
      <span class="who" safe>
        {viewer.email}
      </span>
      <PostButton action="/sign-out" csrf={csrf ?? ""} label="Sign out" variant="link" />
    </>
  ) as string;
}

export function Layout({ title, viewer, csrf, chrome = "full", children }: PropsWithChildren<LayoutProps>): string {
  return (
    <>
      {"<!doctype html>"}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title safe>{title} · Gatehouse</title>
          <link rel="icon" href="/assets/icon.svg" type="image/svg+xml" />
          <link rel="stylesheet" href="/assets/style.css" />
          <script src="/assets/app.js" defer></script>
        </head>
        <body>
          <a class="skip" href="#main">
            Skip to content
          </a>
          <header>
            <a class="brand" href="/">
              Gatehouse
            </a>
            {viewer && chrome === "minimal" ? (
              <div class="account">
                <Account viewer={viewer} csrf={csrf} />
              </div>
            ) : viewer ? (
              <nav>
                <a href="/keys">API keys</a>
                <a href="/activity">Activity</a>
                <a href="/clients">OAuth clients</a>
                {viewer.isAdmin ? <a href="/admin/people">People</a> : ""}
                {viewer.isAdmin ? <a href="/admin/service-accounts">Service accounts</a> : ""}
                {viewer.isAdmin ? <a href="/admin/clients">All OAuth clients</a> : ""}
                {viewer.isAdmin ? <a href="/admin/upstreams">Upstreams</a> : ""}
                {viewer.isAdmin ? <a href="/admin/audit">Audit log</a> : ""}
                <Account viewer={viewer} csrf={csrf} />
              </nav>
            ) : (
              ""
            )}
          </header>
          <main id="main" tabindex="-1">
            {viewer?.flash ? (
              <p class="flash" role="status" safe>
                {viewer.flash}
              </p>
            ) : (
              ""
            )}
            {children}
          </main>
        </body>
      </html>
    </>
  ) as string;
}
