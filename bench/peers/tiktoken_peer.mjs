// Persistent tiktoken ("gpt2" encoding) peer for bench/Slovo.Bench: one command per line, one answer per line.
//   load PATH   -> number of characters read (the text to encode, UTF-8)
//   encode      -> "<seconds> <tokens>" for encoding the loaded text once
//   peak        -> peak resident memory of this process in bytes
import { get_encoding } from "tiktoken";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

const enc = get_encoding("gpt2");
let text = "";
const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  const [cmd, ...rest] = line.split(" ");
  if (cmd === "load") {
    text = readFileSync(rest.join(" "), "utf8");
    console.log(String(text.length));
  } else if (cmd === "encode") {
    const t0 = process.hrtime.bigint();
    const ids = enc.encode_ordinary(text);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(`${seconds} ${ids.length}`);
  } else if (cmd === "peak") {
    console.log(String(peakBytes()));
  } else {
    console.log(`error unknown command ${cmd}`);
  }
}
enc.free();

// This process's own peak resident memory (VmHWM). Not resourceUsage().maxRSS: Linux carries the high-water mark of the
// process image replaced by exec into ru_maxrss, so a peer started by a large parent reported the parent's peak.
function peakBytes() {
  const status = readFileSync("/proc/self/status", "utf8");
  return Number(/VmHWM:\s+(\d+)\s+kB/.exec(status)[1]) * 1024;
}
