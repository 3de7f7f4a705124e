// Copy the browser builds of the npm packages into build/vendor, which the API serves at /vendor.
// Run by scripts/setup.sh after `npm ci`; build/ and node_modules/ are never committed.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "build", "vendor");
const files = {
  "cytoscape.min.js": "node_modules/cytoscape/dist/cytoscape.min.js",
  "cytoscape-dagre.min.js": "node_modules/cytoscape-dagre/dist/cytoscape-dagre.min.js",
};
mkdirSync(out, { recursive: true });
const manifest = {};
for (const [name, src] of Object.entries(files)) {
  copyFileSync(join(here, src), join(out, name));
  const pkg = JSON.parse(readFileSync(join(here, src.split("/dist/")[0], "package.json"), "utf8"));
  manifest[name] = `${pkg.name}@${pkg.version}`;
}
writeFileSync(join(out, "manifest.json"), JSON.stringify(manifest, null, 1) + "\n");
console.log(`vendor files in ${out}: ${Object.values(manifest).join(", ")}`);
