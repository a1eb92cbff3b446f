// Compiles, tests and serves the contracts fully offline: the compiler is the pinned npm `solc`
// (solc-js), with the same version and settings the Python build reads from contracts/compiler.json,
// so that every toolchain yields the same bytecode.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const compiler = JSON.parse(readFileSync(new URL("./contracts/compiler.json", import.meta.url), "utf8"));

const solc = {
  version: compiler.version,
  path: require.resolve("solc/soljson.js"),
  settings: compiler.settings,
};

export default {
  solidity: {
    profiles: {
      default: solc,
      production: solc,
    },
  },
  paths: {
    sources: "contracts",
    tests: { solidity: "tests/contracts" },
  },
  test: {
    solidity: {
      fuzz: { runs: 256 },
    },
  },
};
