import { Layout, type LayoutProps } from "./layout.tsx";

export interface MessageProps extends Pick<LayoutProps, "viewer" | "csrf" | "chrome"> {
  title: string;
  message: string;
  requestId?: string;
  link?: { href: string; label: string };
}

/** A page for people: an error or a notice, never a stack trace. */
export function MessagePage({ title, message, requestId, link, viewer, csrf, chrome }: MessageProps): string {
  return (
    <Layout title={title} viewer={viewer} csrf={csrf} chrome={chrome}>
      <section class="card">
        <h1 safe>{title}</h1>
        <p safe>{message}</p>
        {link ? (
          <p>
            <a href={link.href} safe>
              {link.label}
            </a>
          </p>
        ) : (
          ""
        )}
        {requestId ? (
          <p class="muted">
            Request id: <code safe>{requestId}</code>
          </p>
        ) : (
          ""
        )}
      </section>
    </Layout>
  ) as string;
}
