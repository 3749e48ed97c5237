// One button per configured identity provider: each a form that POSTs (with
// the CSRF token) to /sign-in/<id>, which sends the browser to the provider.

export interface ProviderButton {
  id: string;
  name: string;
}

export function ProviderButtons({
  providers,
  csrf,
  next,
  invitation,
}: {
  providers: ProviderButton[];
  csrf: string;
  next?: string;
  /** The invitation link's token, carried through the provider's sign-in. */
  invitation?: string;
}): string {
  if (providers.length === 0) return "";
  return (
    <div class="providers">
      {providers.map((p) => (
        <form method="post" action={`/sign-in/${p.id}`}>
          <input type="hidden" name="csrf" value={csrf} />
          {next ? <input type="hidden" name="next" value={next} /> : ""}
          {invitation ? <input type="hidden" name="invitation" value={invitation} /> : ""}
          <button type="submit" class="secondary" safe>
            {`Sign in with ${p.name}`}
          </button>
        </form>
      ))}
    </div>
  ) as string;
}
