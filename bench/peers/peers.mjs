// Runs alex and write-good over one message per line of a file and prints one JSON line
// per tool: {"tool", "messages", "seconds", "flagged"}. Called by bench/peers/run.py.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { text as alex } from "alex";

const require = createRequire(import.meta.url);
const writeGood = require("write-good");

const messages = readFileSync(process.argv[2], "utf8").split("\n").filter(Boolean);
const tools = {
  alex: (message) => alex(message).messages.length,
  "write-good": (message) => writeGood(message).length,
};

for (const [tool, check] of Object.entries(tools)) {
  for (const message of messages.slice(0, 200)) check(message); // warm-up
  let flagged = 0;
  const started = process.hrtime.bigint();
  for (const message of messages) flagged += check(message) > 0 ? 1 : 0;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(JSON.stringify({ tool, messages: messages.length, seconds, flagged }));
}
