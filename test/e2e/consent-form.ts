import type { Browser } from "../helpers.ts";

/**
 * How to answer the consent page. Left out, `access` and `tools` are as the
 * page is served (Allow as served). `tools` alone means "Full, only the
 * write tools I tick" with those ticked; `access: "chosen"` without `tools`
 * ticks every write tool the page offers. Read-only and Full send no tools.
 */
export interface ConsentChoice {
  button: "allow" | "deny";
  access?: "full" | "read" | "chosen";
  tools?: readonly string[];
}

function attr(attrs: string, name: string): string | undefined {
  return new RegExp(`\\s${name}="([^"]*)"`).exec(attrs)?.[1];
}

/** The consent form's fields (the form posting to `action`) as a browser would send them for one button, access level and set of ticked tools. */
export function consentFields(
  html: string,
  choice: ConsentChoice,
  action = "/oauth/authorize",
): Record<string, string | string[]> {
  const form = new RegExp(`<form[^>]*action="${action}"[^>]*>([\\s\\S]*?)</form>`).exec(html)?.[1];
  if (!form) throw new Error(`no consent form on the page:\n${html.slice(0, 2000)}`);
  const inputs = [...form.matchAll(/<input([^>]*)>/g)].map((m) => ({
    attrs: m[1]!,
    name: attr(m[1]!, "name"),
    value: attr(m[1]!, "value") ?? "",
    type: attr(m[1]!, "type") ?? "text",
    checked: /\schecked/.test(m[1]!),
  }));
  const asServed = choice.access === undefined && choice.tools === undefined;
  const access =
    choice.access ?? (choice.tools ? "chosen" : inputs.find((i) => i.name === "access" && i.checked)?.value);
  if (choice.button === "allow" && !inputs.some((i) => i.name === "access" && i.value === access))
    throw new Error(`the consent page offers no access choice ${access}`);
  const fields: Record<string, string | string[]> = {};
  const multi: Record<string, string[]> = { tool: [], tool_group: [] };
  for (const input of inputs) {
    if (!input.name) continue;
    if (input.type === "radio") {
      if (input.value === access) fields[input.name] = input.value;
    } else if (input.type === "checkbox") {
      const tick = asServed
        ? input.checked
        : access === "chosen" && input.name === "tool" && (choice.tools ? choice.tools.includes(input.value) : true);
      if (tick) (multi[input.name] ??= []).push(input.value);
    } else fields[input.name] = input.value;
  }
  const missing = (choice.tools ?? []).filter((name) => !multi.tool!.includes(name));
  if (missing.length) throw new Error(`the consent page offers no write tool ${missing.join(", ")}`);
  for (const [name, values] of Object.entries(multi)) if (values.length) fields[name] = values;
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
  for (const [name, value] of Object.entries(fields))
    for (const v of Array.isArray(value) ? value : [value]) body.append(name, v);
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
