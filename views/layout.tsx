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
}

export function Layout({ title, viewer, csrf, children }: PropsWithChildren<LayoutProps>): string {
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
            {viewer ? (
              <nav>
                <a href="/keys">API keys</a>
                <a href="/activity">Activity</a>
                <a href="/clients">Clients</a>
                {viewer.isAdmin ? <a href="/admin/people">People</a> : ""}
                {viewer.isAdmin ? <a href="/admin/service-accounts">Service accounts</a> : ""}
                {viewer.isAdmin ? <a href="/admin/clients">All clients</a> : ""}
                {viewer.isAdmin ? <a href="/admin/upstreams">Upstreams</a> : ""}
                {viewer.isAdmin ? <a href="/admin/audit">Audit log</a> : ""}
                <span class="who" safe>
                  {viewer.email}
                </span>
                <PostButton action="/sign-out" csrf={csrf ?? ""} label="Sign out" variant="link" />
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
