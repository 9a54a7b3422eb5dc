// `npm run test:model [-- --steps N --seed S --runs R --namespaces K --fail-fast]`: sets the
// environment and runs test/model/model.test.ts under node:test (flags after `--` cannot reach a
// test file through `node --test` itself). The per-test timeout grows with the steps.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    steps: { type: 'string' },
    seed: { type: 'string' },
    runs: { type: 'string' },
    namespaces: { type: 'string' },
    'fail-fast': { type: 'boolean' },
  },
});
const env = { ...process.env };
if (values.steps) env.STEPS = values.steps;
if (values.seed) env.SEED = values.seed;
if (values.runs) env.RUNS = values.runs;
if (values.namespaces) env.NAMESPACES = values.namespaces;
if (values['fail-fast']) env.FAIL_FAST = '1';

const steps = Number(env.STEPS ?? 20);
// Worst case per step (settle bounds, an S3 or apiserver restart) plus setup and quiescence.
const timeoutMs = (steps * 90 + 600) * 1000;
const root = fileURLToPath(new URL('../../', import.meta.url));
const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=1',
    `--test-timeout=${timeoutMs}`,
    'test/model/invariants.test.ts',
    'test/model/sink.test.ts',
    'test/model/model.test.ts',
  ],
  { cwd: root, env, stdio: 'inherit' },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
