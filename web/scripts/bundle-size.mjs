// Prints the production bundle's JavaScript size, gzipped, as one JSON line, and fails the
// build above the budget (350 KB of gzipped JavaScript).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const BUDGET_BYTES = 350 * 1024;
const assets = join(import.meta.dirname, "..", "dist", "assets");
const files = readdirSync(assets).filter((name) => name.endsWith(".js") || name.endsWith(".css"));
let js = 0;
let css = 0;
for (const name of files) {
  const gzipped = gzipSync(readFileSync(join(assets, name)), { level: 9 }).length;
  if (name.endsWith(".js")) js += gzipped;
  else css += gzipped;
}
console.log(JSON.stringify({ bench: "web_bundle", js_gzip_bytes: js, css_gzip_bytes: css, budget_js_gzip_bytes: BUDGET_BYTES, files: files.length }));
if (js > BUDGET_BYTES) {
  console.error(`the JavaScript bundle is ${js} bytes gzipped, over the ${BUDGET_BYTES}-byte budget`);
  process.exit(1);
}
