// Bundles each editor test page's entry (editors/*.js) with the real npm packages into dist/.
import { build } from "esbuild";
import { readdirSync } from "node:fs";

const entries = readdirSync(new URL("./editors", import.meta.url)).filter((f) => f.endsWith(".js"));
await build({
  entryPoints: entries.map((f) => `editors/${f}`),
  outdir: "dist",
  bundle: true,
  format: "iife",
  minify: true,
  logLevel: "warning",
});
