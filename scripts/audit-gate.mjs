#!/usr/bin/env node
// CI gate on `npm audit --omit=dev` (.ci/run): fails (exit 1) only on a high
// or critical advisory in a production dependency that has a fix available
// (the report's `fixAvailable` is true or names the fixed version). Advisories
// without a fix, or below high, are printed and pass. When the registry's
// audit endpoint cannot be reached or refuses the request (mirrors often
// answer 405), it prints a warning and passes: an outage of the advisory
// service must not block CI, and the warning says nothing was checked.
//
//   node scripts/audit-gate.mjs                 runs npm audit --omit=dev --json
//   node scripts/audit-gate.mjs --input FILE    judges a saved `npm audit --json` answer (tests)
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const BLOCKING = new Set(['high', 'critical']);

/**
 * The verdict on one `npm audit --json` answer (text as printed).
 * @param {string} text
 * @returns {{ verdict: 'pass' | 'fail' | 'unchecked', blocking: string[], unfixable: string[], reason: string }}
 */
export function judgeAudit(text) {
  let report;
  try {
    report = JSON.parse(text);
  } catch {
    return { verdict: 'unchecked', blocking: [], unfixable: [], reason: 'npm audit printed no JSON report' };
  }
  if (report === null || typeof report !== 'object' || typeof report.vulnerabilities !== 'object' || report.vulnerabilities === null) {
    const why = typeof report?.message === 'string' && report.message !== '' ? report.message : 'no report in the answer';
    return { verdict: 'unchecked', blocking: [], unfixable: [], reason: `audit endpoint unavailable: ${why}` };
  }
  const blocking = [];
  const unfixable = [];
  for (const [name, v] of Object.entries(report.vulnerabilities)) {
    if (!BLOCKING.has(v?.severity)) continue;
    const titles = (Array.isArray(v.via) ? v.via : []).filter((x) => typeof x === 'object' && x !== null).map((x) => `${x.title} ${x.url}`);
    const line = `${name} (${v.severity}, ${v.range ?? '?'})${titles.length > 0 ? `: ${titles.join('; ')}` : v.via?.length ? ` via ${v.via.join(', ')}` : ''}`;
    if (v.fixAvailable === false || v.fixAvailable === undefined) unfixable.push(line);
    else
      blocking.push(
        `${line} -> fix: ${typeof v.fixAvailable === 'object' ? `${v.fixAvailable.name}@${v.fixAvailable.version}${v.fixAvailable.isSemVerMajor ? ' (major)' : ''}` : 'npm audit fix'}`,
      );
  }
  return {
    verdict: blocking.length > 0 ? 'fail' : 'pass',
    blocking,
    unfixable,
    reason: blocking.length > 0 ? `${blocking.length} high/critical advisory(ies) with a fix available` : 'no high/critical advisory with a fix available',
  };
}

function runNpmAudit() {
  return new Promise((resolve) => {
    // npm audit exits non-zero both for findings and for endpoint errors: the JSON tells them apart.
    execFile('npm', ['audit', '--omit=dev', '--audit-level=high', '--json'], { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 }, (err, stdout) =>
      resolve(stdout || (err ? JSON.stringify({ message: err.message }) : '')),
    );
  });
}

async function main() {
  const at = process.argv.indexOf('--input');
  const text = at > 0 ? await readFile(process.argv[at + 1], 'utf8') : await runNpmAudit();
  const r = judgeAudit(text);
  for (const l of r.unfixable) console.log(`audit: no fix available yet (not failing): ${l}`);
  for (const l of r.blocking) console.log(`audit: FIX AVAILABLE: ${l}`);
  if (r.verdict === 'unchecked') {
    console.log(`audit: WARNING: production dependencies NOT checked: ${r.reason}`);
    return 0;
  }
  console.log(`audit: ${r.verdict === 'fail' ? 'FAIL' : 'ok'}: ${r.reason}`);
  return r.verdict === 'fail' ? 1 : 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}
