import type { PropsWithChildren } from "@kitajs/html";

// Small pieces several pages share.

/**
 * A form's error, announced to screen readers; nothing when there is none. It is only drawn after
 * a submit failed, so it takes the focus when the page loads (focusable by script only, tabindex -1):
 * the keyboard and screen reader land on why, just above the fields to correct, rather than at the top.
 */
export function ErrorNote({ message }: { message?: string }): string {
  if (!message) return "";
  return (
    <p class="error" role="alert" tabindex="-1" autofocus safe>
      {message}
    </p>
  ) as string;
}

/** One button that POSTs to `action` with the CSRF form token. */
export function PostButton({
  action,
  csrf,
  label,
  variant,
}: {
  action: string;
  csrf: string;
  label: string;
  variant: "secondary" | "danger" | "link";
}): string {
  return (
    <form method="post" action={action} class="inline">
      <input type="hidden" name="csrf" value={csrf} />
      <button type="submit" class={variant} safe>
        {label}
      </button>
    </form>
  ) as string;
}

/**
 * A table's own horizontal scroll region, so a table wider than a phone scrolls inside its card
 * rather than widening the page: a named section (a landmark region) the keyboard can reach to
 * scroll, as axe's scrollable-region-focusable rule asks.
 */
export function TableScroll({ label, children }: PropsWithChildren<{ label: string }>): string {
  return (
    <section class="table-scroll" tabindex="0" aria-label={label}>
      {children}
    </section>
  ) as string;
}

/** The header of a column of buttons: named for screen readers, not shown. */
export function ActionsHeader(): string {
  return (
    <th>
      <span class="visually-hidden">Actions</span>
    </th>
  ) as string;
}

/**
 * A destructive action's button: a link to its confirmation page (views/confirm.tsx), which posts.
 * Screen readers hear what it acts on (`Revoke “deploy”`), as a row of such links all read "Revoke".
 */
export function ConfirmLink({
  href,
  label,
  subject,
  variant,
}: {
  href: string;
  label: string;
  subject: string;
  variant: "secondary" | "danger";
}): string {
  return (
    <a class={`button ${variant}`} href={href}>
      <span safe>{label}</span>
      <span class="visually-hidden" safe>{` “${subject}”`}</span>
    </a>
  ) as string;
}

/**
 * A Copy button for the text of the element with id `target` (an input's value, or any element's
 * text): assets/app.js copies it. `name` says what is copied, for screen readers ("Copy client ID").
 */
export function CopyButton({ target, name }: { target: string; name?: string }): string {
  return (
    <button type="button" class="secondary copy" data-copy={target} aria-label={name}>
      Copy
    </button>
  ) as string;
}

/**
 * Shell commands that show how to use a credential just created, with a Copy button. The secret
 * itself never appears in them: a $VARIABLE stands for it, so a pasted snippet leaks nothing.
 */
export function CommandSnippet({ id, commands }: { id: string; commands: string[] }): string {
  return (
    <div class="snippet">
      <pre>
        <code id={id} safe>
          {commands.join("\n")}
        </code>
      </pre>
      <CopyButton target={id} name="Copy the command" />
    </div>
  ) as string;
}

/** A client ID shown to be copied into an app's settings: a read-only field and its Copy button. */
export function ClientIdField({ clientId }: { clientId: string }): string {
  return (
    <>
      <label for="client-id">Client ID</label>
      <div class="secret">
        <input type="text" id="client-id" value={clientId} readonly />
        <CopyButton target="client-id" name="Copy client ID" />
      </div>
    </>
  ) as string;
}
