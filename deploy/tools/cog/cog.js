// Turns the COG communes of @etalab/decoupage-administratif (pinned in
// package.json and package-lock.json) into the gateway's compact communes
// file, one commune a line, tab-separated:
//
//   code  type  parent  name  postcodes (comma-separated)
//
// type: A commune actuelle, M arrondissement municipal (Paris, Lyon,
// Marseille), D commune déléguée, S commune associée; parent: the commune
// an arrondissement belongs to, or the chef-lieu of a commune déléguée or
// associée, else empty. A code may have two lines (a commune nouvelle and
// its commune déléguée of the same code).
//
// Usage: node cog.js NODE_MODULES_DIR OUTPUT_FILE
'use strict';

const fs = require('fs');
const path = require('path');

const TYPES = {
  'commune-actuelle': 'A',
  'arrondissement-municipal': 'M',
  'commune-deleguee': 'D',
  'commune-associee': 'S',
};
const CODE = /^(?:[0-9]{5}|2[AB][0-9]{3})$/;
const POSTCODE = /^[0-9]{5}$/;

function fail(message) {
  process.stderr.write(`cog.js: ${message}\n`);
  process.exit(1);
}

function line(commune) {
  const type = TYPES[commune.type];
  if (!type) fail(`commune ${commune.code}: unknown type ${commune.type}`);
  if (!CODE.test(commune.code)) fail(`not a COG code: ${commune.code}`);
  const postcodes = commune.codesPostaux || [];
  for (const p of postcodes) if (!POSTCODE.test(p)) fail(`commune ${commune.code}: postcode ${p}`);
  const name = String(commune.nom);
  if (!name || /[\t\n\r]/.test(name)) fail(`commune ${commune.code}: name ${JSON.stringify(name)}`);
  const parent = commune.commune || commune.chefLieu || '';
  return [commune.code, type, parent, name, postcodes.join(',')].join('\t');
}

function main() {
  const [modules, output] = process.argv.slice(2);
  if (!modules || !output) fail('usage: node cog.js NODE_MODULES_DIR OUTPUT_FILE');
  const pkgDir = path.join(modules, '@etalab', 'decoupage-administratif');
  const version = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'))).version;
  const communes = JSON.parse(fs.readFileSync(path.join(pkgDir, 'data', 'communes.json')));
  const lines = communes.map(line).sort();
  const header =
    `# INSEE Code officiel géographique: communes and their postcodes, from ` +
    `@etalab/decoupage-administratif ${version} (made by deploy/tools/cog/cog.js)\n`;
  // Written aside then renamed: make never takes a cut file for a whole one.
  fs.writeFileSync(`${output}.tmp`, header + lines.join('\n') + '\n');
  fs.renameSync(`${output}.tmp`, output);
  process.stdout.write(`cog.js: ${lines.length} communes of @etalab/decoupage-administratif ${version} in ${output}\n`);
}

main();
