import { Browser } from "../helpers.ts";

/**
 * How to answer the consent page. `tools` are the write tools to tick under
 * Full access; left out, every write tool the page offers is ticked (the
 * page itself ticks none). Read-only sends no tools.
 */
export interface ConsentChoice {
  button: "allow" | "deny";
  access?: "full" | "read";
  tools?: readonly string[];
}

function attr(attrs: string, name: string): string | undefined {
  return new RegExp(`\\s${name}="([^"]*)"`).exec(attrs)?.[1];
}

/** The consent form's fields (the form posting to `action`) as a browser would send them for one button, access level and set of ticked tools. */
export function consentFields(html: string, choice: ConsentChoice, action = "/oauth/authorize"): Record<string, string | string[]> {
  const form = new RegExp(`<form[^>]*action="${action}"[^>]*>([\\s\\S]*?)</form>`).exec(html)?.[1];
  if (!form) throw new Error(`no consent form on the page:\n${html.slice(0, 2000)}`);
  const inputs = [...form.matchAll(/<input([^>]*)>/g)].map((m) => ({
    attrs: m[1]!,
    name: attr(m[1]!, "name"),
    value: attr(m[1]!, "value") ?? "",
    type: attr(m[1]!, "type") ?? "text",
    checked: /\schecked/.test(m[1]!),
  }));
  const access = choice.access ?? inputs.find((i) => i.name === "access" && i.checked)?.value;
  const fields: Record<string, string | string[]> = {};
  const ticked: string[] = [];
  for (const input of inputs) {
    if (!input.name) continue;
    if (input.type === "radio") {
      if (choice.access ? input.value === choice.access : input.checked) fields[input.name] = input.value;
    } else if (input.type === "checkbox" && input.name === "tool") {
      if (access === "full" && (choice.tools ? choice.tools.includes(input.value) : true)) ticked.push(input.value);
    } else if (input.type !== "checkbox" || input.checked) fields[input.name] = input.value;
  }
  const missing = (choice.tools ?? []).filter((name) => !ticked.includes(name));
  if (access === "full" && missing.length) throw new Error(`the consent page offers no write tool ${missing.join(", ")}`);
  if (ticked.length) fields.tool = ticked;
  for (const m of form.matchAll(/<button([^>]*)>/g)) {
    const name = attr(m[1]!, "name");
    const value = attr(m[1]!, "value");
    if (name && value === choice.button) fields[name] = value;
  }
  return fields;
}

/** The fields as a form body, repeated names (ticked tools) included. */
export function consentBody(fields: Record<string, string | string[]>): URLSearchParams {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) for (const v of Array.isArray(value) ? value : [value]) body.append(name, v);
  return body;
}

/** GETs an authorize URL as a signed-in browser and answers the consent page; returns the final redirect. */
export async function consent(b: Browser, authorizeUrl: URL, choice: ConsentChoice): Promise<URL> {
  const page = await b.get(authorizeUrl.pathname + authorizeUrl.search);
  if (page.status !== 200) throw new Error(`consent page answered ${page.status}: ${await page.text()}`);
  const body = consentBody(consentFields(await page.text(), choice));
  const res = await b.request("/oauth/authorize", {
    method: "POST",
    body: body.toString(),
    headers: { "content-type": "application/x-www-form-urlencoded", origin: new URL(b.base).origin },
  });
  const location = res.headers.get("location");
  if (res.status !== 302 || !location) throw new Error(`consent POST answered ${res.status}: ${await res.text()}`);
  return new URL(location);
}
