// Small pieces several pages share.

/** A form's error, announced to screen readers; nothing when there is none. */
export function ErrorNote({ message }: { message?: string }): string {
  if (!message) return "";
  return (
    <p class="error" role="alert" safe>
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
