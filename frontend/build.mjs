// Bundle sigma.js + graphology + ForceAtlas2 into ../valuenet/web/static/vendor/graph-libs.js
// and copy the licence of every package that ends up in the bundle next to it.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "valuenet", "web", "static", "vendor");
rmSync(join(out, "licenses"), { recursive: true, force: true });  // only the licences of what is bundled now
mkdirSync(join(out, "licenses"), { recursive: true });

const common = { bundle: true, minify: true, format: "iife", target: ["es2019"], legalComments: "none", metafile: true };
const result = await build({ ...common, entryPoints: [join(here, "entry.js")], outfile: join(out, "graph-libs.js") });
const worker = await build({ ...common, entryPoints: [join(here, "fa2-worker.js")], outfile: join(out, "fa2-worker.js") });
Object.assign(result.metafile.inputs, worker.metafile.inputs);

// packages whose files were bundled
const pkgs = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (m) pkgs.add(m[1]);
}
const lines = [];
for (const name of [...pkgs].sort()) {
  const dir = join(here, "node_modules", name);
  const meta = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const lic = readdirSync(dir).find(f => /^licen[cs]e/i.test(f));
  if (!lic) throw new Error(`no licence file in ${name}`);
  const target = `${name.replace("/", "__")}-LICENSE.txt`;
  copyFileSync(join(dir, lic), join(out, "licenses", target));
  lines.push(`${name} ${meta.version} (${meta.license}) licenses/${target}`);
}
writeFileSync(
  join(out, "graph-libs.txt"),
  "graph-libs.js and fa2-worker.js bundle these npm packages (built by frontend/build.mjs with esbuild):\n" + lines.join("\n") + "\n",
);
console.log(`wrote ${join(out, "graph-libs.js")} with ${pkgs.size} packages:\n${lines.join("\n")}`);
