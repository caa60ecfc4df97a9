// Sums the conformance suite's results per scenario (each scenario writes
// server-SCENARIO-TIMESTAMP/checks.json) and compares a direct run with a run through the
// gateway. Exits 1 when the direct run fails a check, or when the two runs differ anywhere.
// Usage: node compare-results.mjs DIRECT_DIR [GATEWAY_DIR]
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

function load(dir) {
  const scenarios = new Map();
  if (!dir || !existsSync(dir)) return scenarios;
  for (const entry of readdirSync(dir)) {
    const match = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(entry);
    const file = join(dir, entry, 'checks.json');
    if (!match || !existsSync(file)) continue;
    const checks = JSON.parse(readFileSync(file, 'utf8')).filter((c) => c.status !== 'INFO');
    scenarios.set(match[1], checks);
  }
  return scenarios;
}

const count = (checks, status) => (checks ?? []).filter((c) => c.status === status).length;
const cell = (checks) => checks ? `${count(checks, 'SUCCESS')} ok ${count(checks, 'FAILURE')} failed${count(checks, 'WARNING') ? ` ${count(checks, 'WARNING')} warned` : ''}` : 'not run';
const verdicts = (checks) => (checks ?? []).map((c) => `${c.id}=${c.status}`).sort().join(' ');

const direct = load(process.argv[2]);
const gatewayDir = process.argv[3];
const gateway = gatewayDir ? load(gatewayDir) : null;
const names = [...new Set([...direct.keys(), ...(gateway?.keys() ?? [])])].sort();
if (names.length === 0) {
  console.log('no results found');
  process.exit(1);
}

let differences = 0;
let directFailures = 0;
const width = Math.max(...names.map((n) => n.length));
console.log(`${'scenario'.padEnd(width)}  ${'direct'.padEnd(24)}${gateway ? 'through the gateway' : ''}`);
for (const name of names) {
  const d = direct.get(name);
  const g = gateway?.get(name);
  const same = !gateway || verdicts(d) === verdicts(g);
  if (!same) differences++;
  if (!d || count(d, 'FAILURE') > 0) directFailures++;
  console.log(`${name.padEnd(width)}  ${cell(d).padEnd(24)}${gateway ? cell(g) : ''}${same ? '' : '   <- differs'}`);
  if (!same) {
    for (const check of g ?? []) {
      if (check.status === 'FAILURE') console.log(`${''.padEnd(width)}    ${check.id}: ${check.errorMessage ?? ''}`);
    }
  }
}

const total = (runs, status) => [...runs.values()].reduce((sum, checks) => sum + count(checks, status), 0);
console.log(`direct: ${total(direct, 'SUCCESS')} checks passed, ${total(direct, 'FAILURE')} failed`);
if (gateway) {
  console.log(`through the gateway: ${total(gateway, 'SUCCESS')} checks passed, ${total(gateway, 'FAILURE')} failed; ${differences} scenario(s) differ`);
}
// One line for tests/test.sh to count: a scenario passes when it passes directly and, if there
// was a gateway run, gives the same verdict for every check through the gateway.
const failedScenarios = names.filter((n) => !direct.get(n) || count(direct.get(n), 'FAILURE') > 0 || (gateway && verdicts(direct.get(n)) !== verdicts(gateway.get(n)))).length;
console.log(`MCP conformance scenarios: ${names.length - failedScenarios} transparent, ${failedScenarios} not`);
process.exit(directFailures > 0 || differences > 0 ? 1 : 0);
