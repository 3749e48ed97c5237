import type { Browser } from "../helpers.ts";

// The confirmation step (views/confirm.tsx) as a browser meets it: a GET page
// whose one form posts the action. Tests confirm by sending what that form
// would, so they post exactly the fields the page gave.

const fromHtml = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#(39|x27);/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");

/** Where a confirmation page's form posts, and every field it sends (the form token among them). */
export function confirmationForm(html: string): { action: string; fields: Record<string, string> } {
  const form = /<form method="post" action="([^"]*)" class="buttons confirm">([\s\S]*?)<\/form>/.exec(html);
  if (!form) throw new Error("no confirmation form on the page");
  const fields: Record<string, string> = {};
  for (const [, name, value] of form[2]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\/?>/g)) {
    fields[fromHtml(name!)] = fromHtml(value!);
  }
  return { action: fromHtml(form[1]!), fields };
}

/** Opens the confirmation page at `path` and confirms it, as a person clicking its button would. */
export async function confirmVia(b: Browser, path: string): Promise<Response> {
  const page = await b.get(path);
  if (page.status !== 200) throw new Error(`${path} answered ${page.status}`);
  const { action, fields } = confirmationForm(await page.text());
  return b.post(action, fields);
}
