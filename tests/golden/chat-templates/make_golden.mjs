// Writes golden.json: every chat template here rendered with every conversation of conversations.json by
// @huggingface/jinja 0.5.13 (the renderer transformers.js uses). Run from the repository root after `(cd bench/peers && npm ci)`:
//   node tests/golden/chat-templates/make_golden.mjs
// A template that raises (raise_exception) records its message instead of text.
import { createRequire } from "node:module";
import { readFileSync, writeFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..", "..");
const require = createRequire(join(root, "bench", "peers", "package.json"));
const { Template } = require("@huggingface/jinja");

const conversations = JSON.parse(readFileSync(join(here, "conversations.json"), "utf8"));
const cases = [];
for (const file of readdirSync(here).filter(f => f.endsWith(".jinja")).sort()) {
  const template = new Template(readFileSync(join(here, file), "utf8"));
  for (const c of conversations) {
    const context = {
      messages: c.messages, add_generation_prompt: c.add_generation_prompt, bos_token: "<s>", eos_token: "</s>",
      date_string: "05 Dec 2026",
    };
    if (c.tools) context.tools = c.tools;
    const entry = { template: file, conversation: c.name };
    try { entry.text = template.render(context); } catch (e) { entry.error = String(e.message ?? e); }
    cases.push(entry);
  }
}
writeFileSync(join(here, "golden.json"), JSON.stringify(cases, null, 1) + "\n");
console.log(`${cases.length} renderings, ${cases.filter(c => c.error).length} raised`);
