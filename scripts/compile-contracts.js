#!/usr/bin/env node
// Compiles every .sol file under contracts/ and tests/contracts/ with solcjs and writes one
// artifact per contract to <folder of the source>/build/<ContractName>.json:
//
//   {"contractName": ..., "abi": [...], "bytecode": "0x...", "deployedBytecode": "0x..."}
//
// Interfaces (and abstract contracts) have no bytecode and get no artifact.
//
// Imports: a relative import ("./X.sol", "../../crates/.../IAttribution.sol") is resolved
// against the importing file; solc does that itself and asks for the resulting
// repository-relative path, which the import callback reads from disk. Any other import path
// is taken relative to the repository root. Imports may not leave the repository. Only the
// files under the source folders get artifacts, not the files they import.
//
// The artifacts are committed; the Rust build and tests read them directly, so nothing
// here is needed to build or test the node. Run it (normally through
// scripts/compile-contracts.sh) after changing a contract, and commit the result.
//
// Finding solc: SOLCJS_PATH (a path to the installed `solc` package directory) if set,
// otherwise a plain require('solc'), which honours NODE_PATH.
//
// Flags:
//   --check   compile, but only compare with the artifacts on disk; exit 1 on a difference.

'use strict';

const fs = require('fs');
const path = require('path');

// The compiler version the committed artifacts were built with.
const EXPECTED_SOLC = '0.8.28';

const ROOT = path.resolve(__dirname, '..');
const SOURCE_DIRS = ['contracts', 'tests/contracts'];

const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'cancun',
  // No CBOR metadata trailer: the bytecode depends only on the code, not on comments, paths
  // or the compiler build, so the genesis (which embeds deployedBytecode) stays stable.
  metadata: { appendCBOR: false },
  outputSelection: {
    '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] },
  },
};

function loadSolc() {
  const from = process.env.SOLCJS_PATH;
  try {
    return require(from ? path.resolve(from) : 'solc');
  } catch (e) {
    console.error(
      'cannot load solc (' + e.message + ').\n' +
        'Run scripts/compile-contracts.sh, or set NODE_PATH to a node_modules holding ' +
        'solc@' + EXPECTED_SOLC + ', or SOLCJS_PATH to the solc package directory.'
    );
    process.exit(2);
  }
}

// Every .sol file under dir (repository-relative paths, sorted), skipping build/ and
// node_modules/.
function findSources(dir) {
  const abs = path.join(ROOT, dir);
  if (!fs.existsSync(abs)) return [];
  const out = [];
  for (const entry of fs.readdirSync(abs, { withFileTypes: true })) {
    const rel = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === 'build' || entry.name === 'node_modules') continue;
      out.push(...findSources(rel));
    } else if (entry.isFile() && entry.name.endsWith('.sol')) {
      out.push(rel);
    }
  }
  return out.sort();
}

// The import callback. Sources are named by their repository-relative path, and solc has
// already resolved a relative import against the importing file's folder (dropping any `..`
// past the root), so `p` is read relative to the repository root.
function findImport(p) {
  const abs = path.resolve(ROOT, p);
  const rel = path.relative(ROOT, abs);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    return { error: 'import outside the repository: ' + p };
  }
  try {
    if (fs.statSync(abs).isFile()) return { contents: fs.readFileSync(abs, 'utf8') };
  } catch (e) {
    // falls through to "not found"
  }
  return { error: 'import not found: ' + p };
}

function hex(object) {
  if (typeof object !== 'string') return '0x';
  return object.startsWith('0x') ? object : '0x' + object;
}

function main() {
  const check = process.argv.includes('--check');
  const solc = loadSolc();
  const version = solc.version();
  if (!version.startsWith(EXPECTED_SOLC + '+')) {
    console.warn(
      'warning: solc ' + version + ' differs from ' + EXPECTED_SOLC +
        ', the version the committed artifacts were built with'
    );
  }

  const files = SOURCE_DIRS.flatMap(findSources);
  if (files.length === 0) {
    console.error('no .sol files found under ' + SOURCE_DIRS.join(', '));
    process.exit(1);
  }

  const sources = {};
  for (const f of files) sources[f] = { content: fs.readFileSync(path.join(ROOT, f), 'utf8') };

  const input = { language: 'Solidity', sources, settings: SETTINGS };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport }));

  let failed = false;
  for (const d of output.errors || []) {
    const msg = d.formattedMessage || d.message;
    if (d.severity === 'error') {
      failed = true;
      console.error(msg);
    } else {
      console.warn(msg);
    }
  }
  if (failed) process.exit(1);

  const seen = new Map();
  let written = 0;
  let stale = 0;
  let skipped = 0;
  for (const file of files) {
    const contracts = (output.contracts || {})[file] || {};
    for (const name of Object.keys(contracts).sort()) {
      const c = contracts[name];
      // Interfaces and abstract contracts: nothing to deploy, no artifact.
      if (hex(c.evm && c.evm.bytecode && c.evm.bytecode.object) === '0x') {
        skipped++;
        continue;
      }
      const outDir = path.join(ROOT, path.posix.dirname(file), 'build');
      const outFile = path.join(outDir, name + '.json');
      if (seen.has(outFile)) {
        console.error('two contracts named ' + name + ' write ' + outFile + ': ' +
          seen.get(outFile) + ' and ' + file);
        process.exit(1);
      }
      seen.set(outFile, file);

      const artifact = {
        contractName: name,
        abi: c.abi,
        bytecode: hex(c.evm && c.evm.bytecode && c.evm.bytecode.object),
        deployedBytecode: hex(c.evm && c.evm.deployedBytecode && c.evm.deployedBytecode.object),
      };
      const text = JSON.stringify(artifact, null, 2) + '\n';
      const rel = path.relative(ROOT, outFile);

      if (check) {
        const old = fs.existsSync(outFile) ? fs.readFileSync(outFile, 'utf8') : null;
        if (old !== text) {
          stale++;
          console.error((old === null ? 'missing: ' : 'out of date: ') + rel);
        }
      } else {
        fs.mkdirSync(outDir, { recursive: true });
        fs.writeFileSync(outFile, text);
        written++;
        console.log('wrote ' + rel + ' (runtime ' + (artifact.deployedBytecode.length - 2) / 2 +
          ' bytes)');
      }
    }
  }

  if (check) {
    if (stale > 0) {
      console.error(stale + ' artifact(s) differ; run scripts/compile-contracts.sh');
      process.exit(1);
    }
    console.log('all ' + seen.size + ' artifacts are up to date (solc ' + version + ')');
  } else {
    console.log('compiled ' + files.length + ' source(s), wrote ' + written +
      ' artifact(s) with solc ' + version +
      (skipped > 0 ? ' (' + skipped + ' without bytecode skipped)' : ''));
  }
}

main();
