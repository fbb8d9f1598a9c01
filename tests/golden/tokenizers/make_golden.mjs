// Writes the Hugging Face parity golden files for Slovo.Tokenizers' tests, with npm `tokenizers` 0.23.2.
// Run from the repository root after `(cd bench/peers && npm ci)`:
//   node tests/golden/tokenizers/make_golden.mjs
// 1. Trains reference tokenizers with Hugging Face on a fixed slice of the shipped Pushkin text and saves them as
//    hf-*.json (Slovo must load these and give the same ids: the "HF → Slovo" direction).
// 2. Encodes a fixed list of texts with every tokenizer file here (hf-*.json, slovo-*.json written by Slovo's
//    tests/Slovo.Tokenizers.Tests, and the shipped tiny GPT-2) and writes golden.json with ids, tokens and offsets.
import { createRequire } from "node:module";
import { readFileSync, writeFileSync, readdirSync, existsSync, unlinkSync } from "node:fs";
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

// The pipelines of today's open families, on vocabularies trained here (the real files are megabytes): HF reads each file
// as that family's tokenizer.json reads, and the goldens below are its output.
//  - SentencePiece-style BPE with byte fallback, "▁" for spaces: Llama 2's legacy normalizer (Prepend + Replace) and
//    Mistral's Metaspace pre-tokenizer (prepend_scheme "first", no split), with <s>, </s>, <unk> and the 256 byte tokens;
//  - byte-level BPE after a Split regex: Llama 3's (ignore_merges, <|begin_of_text|> added by the post-processor) and
//    Qwen2's (NFC, digits one by one), each with its chat tokens as special added tokens.
await trainAndSave("hf-spm-source.json", spec({ ...emptyBpe, byte_fallback: true }, { type: "Metaspace", replacement: "▁", prepend_scheme: "always", split: true }));
{
  const source = join(here, "hf-spm-source.json");
  const base = JSON.parse(readFileSync(source, "utf8"));
  const vocab = { "<unk>": 0, "<s>": 1, "</s>": 2 };
  for (let b = 0; b < 256; ++b) vocab["<0x" + b.toString(16).toUpperCase().padStart(2, "0") + ">"] = 3 + b;
  for (const [token] of Object.entries(base.model.vocab).sort((a, b) => a[1] - b[1])) if (!(token in vocab)) vocab[token] = Object.keys(vocab).length;
  const specials = ["<unk>", "<s>", "</s>"].map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  const model = { ...base.model, unk_token: "<unk>", fuse_unk: true, byte_fallback: true, vocab };
  const template = { type: "TemplateProcessing", single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
    pair: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "<s>", type_id: 1 } }, { Sequence: { id: "B", type_id: 1 } }],
    special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] } } };
  writeFileSync(join(here, "hf-llama2-style.json"), JSON.stringify({ version: "1.0", truncation: null, padding: null, added_tokens: specials,
    normalizer: { type: "Sequence", normalizers: [{ type: "Prepend", prepend: "▁" }, { type: "Replace", pattern: { String: " " }, content: "▁" }] },
    pre_tokenizer: null, post_processor: template,
    decoder: { type: "Sequence", decoders: [{ type: "Replace", pattern: { String: "▁" }, content: " " }, { type: "ByteFallback" }, { type: "Fuse" },
                                            { type: "Strip", content: " ", start: 1, stop: 0 }] },
    model }));
  writeFileSync(join(here, "hf-mistral-style.json"), JSON.stringify({ version: "1.0", truncation: null, padding: null, added_tokens: specials,
    normalizer: null, pre_tokenizer: { type: "Metaspace", replacement: "▁", prepend_scheme: "first", split: false }, post_processor: template,
    decoder: { type: "Metaspace", replacement: "▁", prepend_scheme: "first", split: false }, model }));
  unlinkSync(source);
}
{
  const base = JSON.parse(readFileSync(join(here, "hf-bpe-bytelevel.json"), "utf8"));
  const next = Math.max(...Object.values(base.model.vocab)) + 1;
  const added = (names) => names.map((content, i) => ({ id: next + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false };
  const llama3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  const qwen2 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  const llamaTokens = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"];
  writeFileSync(join(here, "hf-llama3-style.json"), JSON.stringify({ version: "1.0", truncation: null, padding: null, added_tokens: added(llamaTokens),
    normalizer: null,
    pre_tokenizer: { type: "Sequence", pretokenizers: [{ type: "Split", pattern: { Regex: llama3 }, behavior: "Isolated", invert: false }, byteLevel] },
    post_processor: { type: "Sequence", processors: [{ type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
      { type: "TemplateProcessing", single: [{ SpecialToken: { id: "<|begin_of_text|>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
        pair: [{ SpecialToken: { id: "<|begin_of_text|>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "<|begin_of_text|>", type_id: 1 } }, { Sequence: { id: "B", type_id: 1 } }],
        special_tokens: { "<|begin_of_text|>": { id: "<|begin_of_text|>", ids: [next], tokens: ["<|begin_of_text|>"] } } }] },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { ...base.model, ignore_merges: true } }));
  writeFileSync(join(here, "hf-qwen2-style.json"), JSON.stringify({ version: "1.0", truncation: null, padding: null,
    added_tokens: added(["<|endoftext|>", "<|im_start|>", "<|im_end|>"]), normalizer: { type: "NFC" },
    pre_tokenizer: { type: "Sequence", pretokenizers: [{ type: "Split", pattern: { Regex: qwen2 }, behavior: "Isolated", invert: false }, byteLevel] },
    post_processor: { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
    decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false }, model: { ...base.model, ignore_merges: false } }));
}

const texts = [
  "", "Я помню чудное мгновенье:", "Передо мной явилась ты,", "Как мимолетное виденье, Как гений чистой красоты.",
  "Hello, world! It's 2026 and we're testing 12345 tokens.", "  leading and trailing spaces  ", "tabs\tand\nnewlines\n\n",
  "Café naïve résumé — «ёлка» „quotes“", "numbers: 3.14159, 1,000,000; percent 42%", "mixed РУССКИЙ english ЁЁЁ ёё",
  "punctuation!!! ??? ... ;;; :-) (brackets) [x] {y}", "a", "Ъ",
  ...corpus.split("\n").slice(2000, 2010),
  // Chat-formatted texts, as the families' templates render them.
  "<s>[INST] Как дела? [/INST] Хорошо, спасибо.</s>",
  "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
  "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nПривет!<|im_end|>\n<|im_start|>assistant\n",
  "<start_of_turn>user\nI'll say: 1234567 apples<end_of_turn>\n<start_of_turn>model\n",
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
