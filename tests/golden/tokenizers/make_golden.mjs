// Writes the Hugging Face parity golden files for Slovo.Tokenizers' tests, with npm `tokenizers` 0.23.2.
// Run from the repository root after `(cd bench/peers && npm ci)`:
//   node tests/golden/tokenizers/make_golden.mjs
// 1. Trains reference tokenizers with Hugging Face on a fixed slice of the shipped Pushkin text and saves them as
//    hf-*.json (Slovo must load these and give the same ids: the "HF → Slovo" direction).
// 2. Encodes a fixed list of texts with every tokenizer file here (hf-*.json, slovo-*.json written by Slovo's
//    tests/Slovo.Tokenizers.Tests, and the shipped tiny GPT-2) and writes golden.json with ids, tokens and offsets.
import { createRequire } from "node:module";
import { readFileSync, writeFileSync, readdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..", "..");
const require = createRequire(join(root, "bench", "peers", "package.json"));
const { Tokenizer } = require("tokenizers");
const shared = join(root, "..", "shared");

// Training text: the first 200,000 characters of the shipped Pushkin corpus, CRLF normalised.
const corpus = readFileSync(join(shared, "data", "pushkin", "pushkin.txt"), "utf8").replace(/\r\n/g, "\n").slice(0, 200000);
const corpusPath = join("/tmp", "slovo-golden-corpus.txt");
writeFileSync(corpusPath, corpus);

function spec(model, preTokenizer, extra = {}) {
  return JSON.stringify({ version: "1.0", truncation: null, padding: null, added_tokens: [], normalizer: null,
    pre_tokenizer: preTokenizer, post_processor: null, decoder: null, model, ...extra });
}

async function trainAndSave(name, json) {
  const tok = Tokenizer.fromString(json);
  const r = tok.train([corpusPath]);
  if (r && r.then) await r;
  tok.save(join(here, name));
}

const emptyBpe = { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
  fuse_unk: false, byte_fallback: false, vocab: {}, merges: [] };
await trainAndSave("hf-bpe-whitespace.json", spec(emptyBpe, { type: "Whitespace" }));
await trainAndSave("hf-bpe-bytelevel.json", spec(emptyBpe, { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
  { decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true } }));

await trainAndSave("hf-unigram-whitespace.json", spec({ type: "Unigram", unk_id: null, vocab: [] }, { type: "Whitespace" }));
{
  // HF's default Unigram trainer adds no unknown piece and HF then refuses unknown characters: add "<unk>" as piece 0.
  const path = join(here, "hf-unigram-whitespace.json");
  const json = JSON.parse(readFileSync(path, "utf8"));
  json.model.vocab.unshift(["<unk>", 0.0]);
  json.model.unk_id = 0;
  writeFileSync(path, JSON.stringify(json));
}

for (const [name, model] of [
  ["hf-wordpiece-whitespace.json", { type: "WordPiece", unk_token: "[UNK]", continuing_subword_prefix: "##", max_input_chars_per_word: 100, vocab: {} }],
  ["hf-wordlevel-whitespace.json", { type: "WordLevel", unk_token: "[UNK]", vocab: {} }],
]) {
  await trainAndSave(name, spec(model, { type: "Whitespace" }, name.includes("wordpiece") ? { decoder: { type: "WordPiece", prefix: "##", cleanup: true } } : {}));
  // HF's default trainers add no unknown token and HF then refuses unknown words: add "[UNK]" with the next free id.
  const path = join(here, name);
  const json = JSON.parse(readFileSync(path, "utf8"));
  if (!("[UNK]" in json.model.vocab)) json.model.vocab["[UNK]"] = Math.max(...Object.values(json.model.vocab)) + 1;
  writeFileSync(path, JSON.stringify(json));
}

const texts = [
  "", "Я помню чудное мгновенье:", "Передо мной явилась ты,", "Как мимолетное виденье, Как гений чистой красоты.",
  "Hello, world! It's 2026 and we're testing 12345 tokens.", "  leading and trailing spaces  ", "tabs\tand\nnewlines\n\n",
  "Café naïve résumé — «ёлка» „quotes“", "numbers: 3.14159, 1,000,000; percent 42%", "mixed РУССКИЙ english ЁЁЁ ёё",
  "punctuation!!! ??? ... ;;; :-) (brackets) [x] {y}", "a", "Ъ",
  ...corpus.split("\n").slice(2000, 2010),
];
writeFileSync(join(here, "texts.json"), JSON.stringify(texts, null, 1));

const files = readdirSync(here).filter(f => f.endsWith(".json") && (f.startsWith("hf-") || f.startsWith("slovo-"))).sort();
const targets = files.map(f => [f, join(here, f)]);
const tiny = join(shared, "models", "tiny-random-gpt2", "tokenizer.json");
if (existsSync(tiny)) targets.push(["shared:tiny-random-gpt2", tiny]);

const golden = {};
for (const [name, path] of targets) {
  const tok = Tokenizer.fromFile(path);
  const cases = [];
  for (const text of texts) {
    const enc = await tok.encode(text);
    cases.push({ text, ids: enc.getIds(), tokens: enc.getTokens(), offsets: enc.getOffsets() });
  }
  golden[name] = cases;
}
writeFileSync(join(here, "golden.json"), JSON.stringify(golden));
console.log(`wrote golden.json for ${targets.length} tokenizers x ${texts.length} texts`);
