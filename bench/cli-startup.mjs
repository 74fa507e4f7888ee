#!/usr/bin/env node
// CLI start-up against plain Node, measured in the same run on the same machine:
//   node bin/mailroom.mjs --version   (goal: under 3x `node -e 0`)
//   node bin/mailroom.mjs --help      (loads commander and the command tree, no engine)
//   node bin/mailroom.mjs mailbox list --json   (for reference: opens the engine and the store)
// 3 warm-up runs, then 20 measured runs of each, interleaved so that load on the
// machine affects all of them alike. Prints medians and ratios.
//   node bench/cli-startup.mjs [--runs 20] [--json] [--check]   (--check: exit 1 when over the goal)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'bin', 'mailroom.mjs');
const { values: opts } = parseArgs({
  options: { runs: { type: 'string', default: '20' }, warmup: { type: 'string', default: '3' }, json: { type: 'boolean', default: false }, check: { type: 'boolean', default: false } },
});
const runs = Number(opts.runs);
const warmup = Number(opts.warmup);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(warmup) || warmup < 0) {
  process.stderr.write('cli-startup: --runs must be a whole number of at least 1, --warmup at least 0\n');
  process.exit(2);
}
if (!fs.existsSync(path.join(root, 'dist', 'cli', 'main.cjs'))) {
  process.stderr.write('cli-startup: the CLI is not built: run "node scripts/build.mjs cli" first\n');
  process.exit(2);
}

const GOAL = 3;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-bench-'));
const env = { ...process.env, MAILROOM_DATA_DIR: dataDir, MAILROOM_SECRET_KEY: '', NODE_OPTIONS: '' };
const cases = [
  { label: 'node -e 0', args: ['-e', '0'] },
  { label: 'mailroom --version', args: [cli, '--version'] },
  { label: 'mailroom --help', args: [cli, '--help'] },
  { label: 'mailroom mailbox list --json', args: [cli, 'mailbox', 'list', '--json'] },
];

function once(args) {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} failed (exit ${result.status}): ${String(result.stderr).trim().split('\n')[0]}`);
  return ms;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

try {
  for (let i = 0; i < warmup; i++) for (const c of cases) once(c.args);
  const samples = new Map(cases.map((c) => [c.label, []]));
  for (let i = 0; i < runs; i++) for (const c of cases) samples.get(c.label).push(once(c.args));

  const baseline = median(samples.get('node -e 0'));
  const rows = cases.map((c) => {
    const xs = samples.get(c.label);
    const m = median(xs);
    return { command: c.label, medianMs: +m.toFixed(1), minMs: +Math.min(...xs).toFixed(1), maxMs: +Math.max(...xs).toFixed(1), ratio: +(m / baseline).toFixed(2) };
  });
  const version = rows.find((r) => r.command === 'mailroom --version');
  const withinGoal = version.ratio < GOAL;

  if (opts.json) {
    process.stdout.write(JSON.stringify({ runs, warmup, node: process.version, platform: `${process.platform}-${process.arch}`, goal: `--version < ${GOAL}x node -e 0`, withinGoal, rows }, null, 2) + '\n');
  } else {
    process.stdout.write(`CLI start-up, ${runs} runs each after ${warmup} warm-ups (node ${process.version}, ${process.platform}-${process.arch}, ${os.cpus().length} CPUs)\n\n`);
    const w = Math.max(...rows.map((r) => r.command.length));
    process.stdout.write(`${'command'.padEnd(w)}  median ms   min ms   max ms   x node -e 0\n`);
    for (const r of rows) {
      process.stdout.write(`${r.command.padEnd(w)}  ${String(r.medianMs).padStart(9)}  ${String(r.minMs).padStart(7)}  ${String(r.maxMs).padStart(7)}   ${r.ratio.toFixed(2).padStart(6)}\n`);
    }
    process.stdout.write(`\ngoal: mailroom --version under ${GOAL}x node -e 0: ${withinGoal ? 'met' : 'NOT met'} (${version.ratio.toFixed(2)}x)\n`);
  }
  if (opts.check && !withinGoal) process.exitCode = 1;
} catch (error) {
  process.stderr.write(`cli-startup: ${error.message}\n`);
  process.exitCode = 1;
} finally {
  fs.rmSync(dataDir, { recursive: true, force: true });
}
