// Persistent Hugging Face tokenizers (npm 0.23.2) peer for bench/Slovo.Bench: one command per line, one "=> " answer per line.
//   train PATH VOCAB OUT  -> seconds to train a BPE (Whitespace pre-tokenizer, vocab VOCAB, min frequency 0) on PATH, saved to OUT
//   load TOKENIZER LINES  -> number of lines read (tokenizer.json to encode with; a UTF-8 file of lines to encode)
//   encode                -> "<seconds> <tokens>" for encodeBatch over all loaded lines
//   peak                  -> peak resident memory of this process in bytes
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
const require = createRequire(import.meta.url);
const { Tokenizer } = require("tokenizers");

// Answers start with "=> " because training prints its own progress lines on standard output.
const say = (text) => console.log("=> " + text);
let tok = null, lines = [];
const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  const [cmd, ...a] = line.split(" ");
  if (cmd === "train") {
    const spec = { version: "1.0", truncation: null, padding: null, added_tokens: [], normalizer: null,
      pre_tokenizer: { type: "Whitespace" }, post_processor: null, decoder: null,
      model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
        fuse_unk: false, byte_fallback: false, vocab: {}, merges: [] } };
    const t = Tokenizer.fromString(JSON.stringify(spec));
    const t0 = process.hrtime.bigint();
    const r = t.train([a[0]]);
    if (r && r.then) await r;
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (t.getVocabSize() !== Number(a[1])) { say(`error vocab ${t.getVocabSize()} != ${a[1]}`); continue; }
    t.save(a[2]);
    say(String(seconds));
  } else if (cmd === "load") {
    tok = Tokenizer.fromFile(a[0]);
    lines = readFileSync(a[1], "utf8").split("\n");
    say(String(lines.length));
  } else if (cmd === "encode") {
    const t0 = process.hrtime.bigint();
    const encs = await tok.encodeBatch(lines);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    let n = 0;
    for (const e of encs) n += e.getLength();
    say(`${seconds} ${n}`);
  } else if (cmd === "peak") {
    say(String(peakBytes()));
  } else {
    say(`error unknown command ${cmd}`);
  }
}

// This process's own peak resident memory (VmHWM). Not resourceUsage().maxRSS: Linux carries the high-water mark of the
// process image replaced by exec into ru_maxrss, so a peer started by a large parent reported the parent's peak.
function peakBytes() {
  const status = readFileSync("/proc/self/status", "utf8");
  return Number(/VmHWM:\s+(\d+)\s+kB/.exec(status)[1]) * 1024;
}
