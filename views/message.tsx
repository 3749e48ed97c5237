import { Layout } from "./layout.tsx";

export interface MessageProps {
  title: string;
  message: string;
  requestId?: string;
  link?: { href: string; label: string };
}

/** A page for people: an error or a notice, never a stack trace. */
export function MessagePage({ title, message, requestId, link }: MessageProps): string {
  return (
    <Layout title={title}>
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
