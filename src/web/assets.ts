import { Elysia } from "elysia";
import appJs from "../../assets/app.js" with { type: "text" };
import iconSvg from "../../assets/icon.svg" with { type: "text" };
import styleCss from "../../assets/style.css" with { type: "text" };

// Embedded at build time, so the binary needs nothing on disk.
const assets: Record<string, { body: string; type: string }> = {
  "app.js": { body: appJs, type: "text/javascript; charset=utf-8" },
  "icon.svg": { body: iconSvg, type: "image/svg+xml" },
  "style.css": { body: styleCss, type: "text/css; charset=utf-8" },
};

export function assetRoutes() {
  return new Elysia().get("/assets/:name", ({ params, set }) => {
    const asset = assets[params.name];
    if (!asset) {
      set.status = 404;
      return "Not found";
    }
    set.headers["content-type"] = asset.type;
    set.headers["cache-control"] = "public, max-age=3600";
    return asset.body;
  });
}
