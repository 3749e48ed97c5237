import { Browser } from "../helpers.ts";

/** The consent form's fields as a browser would send them for one button and access level. */
export function consentFields(html: string, choice: { button: "allow" | "deny"; access?: "full" | "read" }): Record<string, string> {
  const form = /<form[^>]*action="\/oauth\/authorize"[^>]*>([\s\S]*?)<\/form>/.exec(html)?.[1];
  if (!form) throw new Error(`no consent form on the page:\n${html.slice(0, 2000)}`);
  const fields: Record<string, string> = {};
  for (const m of form.matchAll(/<input([^>]*)>/g)) {
    const attrs = m[1]!;
    const name = /name="([^"]*)"/.exec(attrs)?.[1];
    const value = /value="([^"]*)"/.exec(attrs)?.[1] ?? "";
    if (!name) continue;
    const type = /type="([^"]*)"/.exec(attrs)?.[1] ?? "text";
    if (type === "radio") {
      if (choice.access ? value === choice.access : /\schecked/.test(attrs)) fields[name] = value;
    } else if (type !== "checkbox" || /\schecked/.test(attrs)) fields[name] = value;
  }
  for (const m of form.matchAll(/<button([^>]*)>/g)) {
    const name = /name="([^"]*)"/.exec(m[1]!)?.[1];
    const value = /value="([^"]*)"/.exec(m[1]!)?.[1];
    if (name && value === choice.button) fields[name] = value;
  }
  return fields;
}

/** GETs an authorize URL as a signed-in browser and answers the consent page; returns the final redirect. */
export async function consent(b: Browser, authorizeUrl: URL, choice: { button: "allow" | "deny"; access?: "full" | "read" }): Promise<URL> {
  const page = await b.get(authorizeUrl.pathname + authorizeUrl.search);
  if (page.status !== 200) throw new Error(`consent page answered ${page.status}: ${await page.text()}`);
  const res = await b.post("/oauth/authorize", consentFields(await page.text(), choice));
  const location = res.headers.get("location");
  if (res.status !== 302 || !location) throw new Error(`consent POST answered ${res.status}: ${await res.text()}`);
  return new URL(location);
}
