// `npm run test:model`: randomized, seeded model-based runs against the real stack (control plane
// with kwok nodes, MinIO, a git repo, a real operator process). One node:test test per seed; a
// failing run prints its seed, the generated step list (fast-check's counterexample) and the steps
// as they ran with every invariant violation. Knobs (env, or flags of test/model/cli.ts):
// SEED (replay one run), RUNS (default 3), STEPS (per run, default 20), NAMESPACES (default 2),
// FAIL_FAST=1 (stop a run at its first violation), API_RESTARTS (per run; default 1 per 15 steps).
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { stepArb } from './commands.ts';
import { Real } from './harness.ts';
import { initialModel, type Model } from './model.ts';
import { readVersion } from './observe.ts';
import { diagnose, summary } from './report.ts';
import { type Stack, startRunWorld, startStack } from './world.ts';

const STEPS = Number(process.env.STEPS ?? 20);
const RUNS = Number(process.env.RUNS ?? 3);
const NAMESPACES = Number(process.env.NAMESPACES ?? 2);
const FAIL_FAST = process.env.FAIL_FAST === '1';
// Each apiserver restart costs up to a minute of blind controllers: one per 15 steps at most.
const API_RESTARTS = Number(process.env.API_RESTARTS ?? Math.max(1, Math.floor(STEPS / 15)));
const seeds = process.env.SEED
  ? [Number(process.env.SEED)]
  : Array.from({ length: RUNS }, (_, i) => ((Date.now() % 1_000_000_007) + i * 7919) | 0);

let stack: Stack | undefined;
before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

for (const seed of seeds) {
  test(`model run: SEED=${seed} STEPS=${STEPS} NAMESPACES=${NAMESPACES}`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb(NAMESPACES), { minLength: STEPS, maxLength: STEPS }), (cmds) =>
        runOnce(seed, cmds),
      ),
      // One run per seed and no shrinking: each step costs seconds against a real cluster, and
      // the seed replays the same steps (timing differs; the report lists what happened).
      { seed, numRuns: 1, endOnFailure: true },
    );
  });
}

async function runOnce(seed: number, cmds: fc.AsyncCommand<Model, Real>[]) {
  if (!stack) throw new Error('stack not started');
  const w = await startRunWorld(stack, NAMESPACES);
  const real = new Real(w, FAIL_FAST);
  const m = initialModel(NAMESPACES, API_RESTARTS);
  let diagnosis = '';
  real.log(`run SEED=${seed}: namespaces ${w.namespaces.join(', ')}; first commit ${real.sha7(0)}`);
  try {
    await initiallyDeployed(real);
    await fc.asyncModelRun(() => ({ model: m, real }), cmds);
    await real.heal(m);
    await real.quiesce(m);
    await real.checkNow(m, true);
  } finally {
    await real.heal(m).catch((err) => real.log(`heal failed: ${(err as Error).message}`));
    if (real.violations.size) diagnosis = await diagnose(real).catch((err) => `no diagnosis: ${err}`);
    process.stderr.write(`${summary(real)}\n${diagnosis}\n`);
    await w.stop();
  }
  if (real.violations.size) {
    throw new Error(
      `${summary(real)}\nreplay: SEED=${seed} STEPS=${STEPS} NAMESPACES=${NAMESPACES} npm run test:model`,
    );
  }
}

/** The run starts from the first commit applied and deployed everywhere (bounded). */
async function initiallyDeployed(real: Real): Promise<void> {
  const first = real.sha7(0);
  const deadline = Date.now() + 120_000;
  for (const ns of real.w.namespaces) {
    for (;;) {
      const v = await readVersion(real.w.stack.cp, ns).catch(() => undefined);
      if (v?.applied === first && v.deployed === first) break;
      if (Date.now() > deadline) {
        throw new Error(
          `setup: ${ns} not applied+deployed at ${first} within 120 s (Version: ${JSON.stringify(v)})`,
        );
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  real.log('initial commit applied and deployed in every namespace');
}
