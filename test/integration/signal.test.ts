// The signal contract end to end: every commit CI could wait on gets exactly one S3 outcome, at
// once when the operator knows it failed; no commit can wipe a namespace; a prune cut short is
// finished. Real control plane, git and MinIO; `wait` is the real CLI.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Sink } from '../../src/notify/sink.ts';
import { short } from '../../src/source/sha.ts';
import type { RepoChanges } from '../../testbed/git.ts';
import { waitFor } from '../../testbed/proc.ts';
import { runWait, startWorld, type World } from '../support/world.ts';

const ns = 'app';
const folder = `iowa-a/${ns}`;
let w: World;

/** One Deployment per file: api and web; `nodeSelector` makes its pods unschedulable. */
function deployment(name: string, opts: { image?: string; stuck?: boolean; minReady?: number } = {}): string {
  const labels = { app: name };
  return `${JSON.stringify(
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, labels },
      spec: {
        replicas: 1,
        minReadySeconds: opts.minReady ?? 0,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [{ name, image: opts.image ?? `example/${name}:1` }],
            ...(opts.stuck ? { nodeSelector: { disktype: 'no-such-node' } } : {}),
          },
        },
      },
    },
    null,
    2,
  )}\n`;
}
const configMap = (name: string, value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  value: "${value}"\n`;

const healthySet = (): RepoChanges => ({
  [`${folder}/api.yaml`]: deployment('api'),
  [`${folder}/web.yaml`]: deployment('web'),
  [`${folder}/settings.yaml`]: configMap('settings', '1'),
});

before(async () => {
  w = await startWorld({ namespaces: [ns], files: { 'README.md': 'config\n', ...healthyFiles() } });
  const res = await w.cli(['sync', '--once']);
  assert.equal(res.code, 0, res.stderr + res.stdout);
});
after(async () => {
  await w?.stop();
});

function healthyFiles(): Record<string, string> {
  return healthySet() as Record<string, string>;
}

const names = (kind: string) => w.names(ns, kind);

/** `git-sync-operator wait` for one deployment, with a read-capable key; its exit code and time. */
async function waitCli(deployment: string, sha: string, timeout = '60s') {
  const started = Date.now();
  const res = await runWait(w, { namespace: ns, deployment, sha }, [
    '--timeout',
    timeout,
    '--interval',
    '500ms',
  ]);
  return { ...res, seconds: (Date.now() - started) / 1000 };
}

/** Both outcome keys of (deployment, sha), as they are in S3 now. */
async function outcome(deployment: string, sha: string) {
  const key = `iowa-a/${ns}/${deployment}/${short(sha)}`;
  return { ok: await w.s3.getObject(key), failed: await w.s3.getObject(`${key}.failed`) };
}

/** Commits an api whose pods can never be ready and waits until the operator applied it. */
async function applyStuckApi(): Promise<string> {
  const stuck = await w.repo.commit({ [`${folder}/api.yaml`]: deployment('api', { stuck: true }) }, 'stuck');
  await w.waitVersion(ns, 'stuck applied', (v) => v.applied === short(stuck));
  return stuck;
}

test('a folder whose files hold no object (every way) applies and prunes nothing, says why, and CI hears InvalidManifests', async () => {
  const ways: Record<string, RepoChanges> = {
    'a comment': { [`${folder}/api.yaml`]: '# emptied\n', [`${folder}/web.yaml`]: '# emptied\n' },
    'an empty List': { [`${folder}/api.yaml`]: 'kind: List\nitems: []\n', [`${folder}/web.yaml`]: null },
    'only ---': { [`${folder}/api.yaml`]: '---\n---\n', [`${folder}/web.yaml`]: '---\n' },
    null: { [`${folder}/api.yaml`]: 'null\n', [`${folder}/web.yaml`]: '~\n' },
    'a mix': {
      [`${folder}/api.yaml`]: '# emptied\n---\nnull\n',
      [`${folder}/web.yaml`]: 'apiVersion: v1\nkind: List\nitems: []\n',
    },
  };
  const before = { deployments: await names('deployments'), configmaps: await names('configmaps') };
  for (const [way, change] of Object.entries(ways)) {
    const sha = await w.repo.commit(
      { ...change, [`${folder}/settings.yaml`]: '# emptied\n' },
      `empty: ${way}`,
    );
    const res = await w.cli(['sync', '--once']);
    assert.equal(res.code, 1, `${way}: ${res.stdout}${res.stderr}`);
    assert.match(res.stdout, /has no objects|is missing or has no/, way);
    assert.deepEqual(
      { deployments: await names('deployments'), configmaps: await names('configmaps') },
      before,
      `${way}: something was pruned`,
    );
    const v = await w.version(ns);
    assert.match(
      v?.status?.lastError ?? '',
      /iowa-a\/app\/: has no objects .*nothing is applied or pruned/,
      way,
    );
    assert.notEqual(v?.applied, short(sha), way);
    // CI waiting on either Deployment (from the inventory) at this sha hears why, at once.
    for (const d of ['api', 'web']) {
      const o = await outcome(d, sha);
      assert.equal(o.ok, undefined, `${way}: ${d} got a success file`);
      assert.match(o.failed ?? '', /^\S+Z InvalidManifests: iowa-a\/app\/: has no objects/, `${way}: ${d}`);
    }
  }
  await w.repo.commit(healthySet(), 'healthy again');
  assert.equal((await w.cli(['sync', '--once'])).code, 0);
});

test('broken YAML and a set the dry-run rejects: `wait` exits 1 within seconds with the reason; nothing applied', async () => {
  await w.withOperator({ GIT_SYNC_INTERVAL: '1', ROLLOUT_TIMEOUT: '120' }, async () => {
    // web.yaml broken: web comes from the inventory, api from its own file that parses.
    const broken = await w.repo.commit(
      {
        [`${folder}/api.yaml`]: deployment('api', { image: 'example/api:2' }),
        [`${folder}/web.yaml`]: 'kind: [\n',
      },
      'broken yaml',
    );
    for (const d of ['api', 'web']) {
      const r = await waitCli(d, broken);
      assert.equal(r.code, 1, `${d}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /failed: \S+Z InvalidManifests: iowa-a\/app\/web\.yaml:\d+: invalid YAML/);
      assert.ok(r.seconds < 20, `${d}: wait took ${r.seconds} s`);
    }
    const image = await w.kubectl(
      '-n',
      ns,
      'get',
      'deploy',
      'api',
      '-o',
      'jsonpath={.spec.template.spec.containers[0].image}',
    );
    assert.equal(image, 'example/api:1', 'a broken set applied part of itself');

    // Valid YAML the apiserver refuses (a port out of range): DryRunRejected, nothing applied.
    const rejected = await w.repo.commit(
      {
        [`${folder}/web.yaml`]: deployment('web', { image: 'example/web:2' }),
        [`${folder}/svc.yaml`]:
          'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector:\n    app: web\n  ports:\n    - port: 70000\n',
      },
      'rejected by the apiserver',
    );
    for (const d of ['api', 'web']) {
      const r = await waitCli(d, rejected);
      assert.equal(r.code, 1, `${d}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /failed: \S+Z DryRunRejected: iowa-a\/app\/svc\.yaml:\d+: Service\/web: /);
      assert.ok(r.seconds < 20, `${d}: wait took ${r.seconds} s`);
    }
    assert.deepEqual(await names('services'), []);
    assert.equal(
      await w.kubectl(
        '-n',
        ns,
        'get',
        'deploy',
        'web',
        '-o',
        'jsonpath={.spec.template.spec.containers[0].image}',
      ),
      'example/web:1',
    );
    const fixed = await w.repo.commit({ ...healthySet(), [`${folder}/svc.yaml`]: null }, 'fixed');
    assert.equal((await waitCli('api', fixed)).code, 0);
    assert.equal((await waitCli('web', fixed)).code, 0);
    // Exactly one file per pair, never both.
    for (const sha of [broken, rejected, fixed])
      for (const d of ['api', 'web']) {
        const o = await outcome(d, sha);
        assert.ok(
          (o.ok === undefined) !== (o.failed === undefined),
          `${d}@${short(sha)}: ${JSON.stringify(o)}`,
        );
      }
  });
});

test('a commit superseded while it rolls out gets Superseded; one whose spec the next commit keeps counts for both', async () => {
  await w.withOperator({ GIT_SYNC_INTERVAL: '1', ROLLOUT_TIMEOUT: '120' }, async () => {
    // api can never be ready at `stuck`; a fix 5 s later supersedes it.
    const stuck = await applyStuckApi();
    await new Promise((r) => setTimeout(r, 5_000));
    const fix = await w.repo.commit(
      { [`${folder}/api.yaml`]: deployment('api', { image: 'example/api:3' }) },
      'fix',
    );
    const r = await waitCli('api', stuck, '30s');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`failed: \\S+Z Superseded: Superseded by ${short(fix)} before it became healthy`),
    );
    assert.equal((await waitCli('api', fix)).code, 0);
    // web's spec did not change between `stuck` and `fix`: it was healthy for both.
    assert.ok((await outcome('web', stuck)).ok, 'web@stuck has no success file');

    // web rolls out slowly (minReadySeconds) at `slow`; `config` changes only the ConfigMap,
    // so web's rollout at `slow` counts for `config` too: both get the success file.
    const slow = await w.repo.commit(
      { [`${folder}/web.yaml`]: deployment('web', { image: 'example/web:4', minReady: 6 }) },
      'slow web',
    );
    await w.waitVersion(ns, 'slow applied', (v) => v.applied === short(slow));
    const config = await w.repo.commit(
      { [`${folder}/settings.yaml`]: configMap('settings', '2') },
      'config only',
    );
    const [a, b] = await Promise.all([waitCli('web', slow), waitCli('web', config)]);
    assert.equal(a.code, 0, a.stdout + a.stderr);
    assert.equal(b.code, 0, b.stdout + b.stderr);
    for (const sha of [stuck, fix, slow, config]) {
      const o = await outcome('web', sha);
      assert.ok((o.ok === undefined) !== (o.failed === undefined), `web@${short(sha)}: ${JSON.stringify(o)}`);
    }
    assert.equal((await outcome('api', stuck)).ok, undefined);
  });
});

test('a broken commit during a rollout is told at once; the rollout it did not replace goes on until a valid commit supersedes it', async () => {
  await w.withOperator({ GIT_SYNC_INTERVAL: '1', ROLLOUT_TIMEOUT: '120' }, async () => {
    const stuck = await applyStuckApi();
    const broken = await w.repo.commit({ [`${folder}/web.yaml`]: 'kind: [\n' }, 'broken while api rolls out');
    for (const d of ['api', 'web']) {
      const r = await waitCli(d, broken, '30s');
      assert.equal(r.code, 1, `${d}: ${r.stdout}${r.stderr}`);
      // Not held back by the stuck rollout of the applied commit (ROLLOUT_TIMEOUT is 120 s).
      assert.ok(r.seconds < 15, `${d}@broken told after ${r.seconds} s`);
    }
    // The broken commit applied nothing, so it superseded nothing: api@stuck is still undecided.
    assert.deepEqual(await outcome('api', stuck), { ok: undefined, failed: undefined });
    const fix = await w.repo.commit(healthySet(), 'fixed');
    const r = await waitCli('api', stuck, '30s');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`Superseded by ${short(fix)}`));
    assert.equal((await waitCli('api', fix)).code, 0);
  });
});

test('a prune killed half-way is finished by the next pass', async () => {
  await w.repo.commit(
    {
      [`${folder}/extra.yaml`]: `${configMap('extra-1', 'x')}---\n${configMap('extra-2', 'x')}---\n${configMap('extra-3', 'x')}`,
    },
    'three extra ConfigMaps',
  );
  assert.equal((await w.cli(['sync', '--once'])).code, 0);
  assert.deepEqual(
    (await names('configmaps')).filter((n) => n.startsWith('extra')),
    ['extra-1', 'extra-2', 'extra-3'],
  );
  await w.repo.commit({ [`${folder}/extra.yaml`]: null }, 'remove them');
  // The process SIGKILLs itself right after the first delete (one DELETE in flight at a time, so
  // that the others are surely not sent yet).
  const killed = await w.cli(['sync', '--once'], {
    GSO_FAILPOINT: `mid-prune@${ns}`,
    APPLY_CONCURRENCY: '1',
  });
  assert.notEqual(killed.code, 0);
  assert.match(killed.stderr, /failpoint mid-prune/);
  const left = (await names('configmaps')).filter((n) => n.startsWith('extra'));
  assert.equal(left.length, 2, `expected one deleted before the kill: ${left}`);
  const inventory = (await w.version(ns))?.status?.inventory?.map((r) => r.name) ?? [];
  for (const n of left)
    assert.ok(inventory.includes(n), `${n} dropped from the inventory before it was pruned`);
  assert.equal((await w.cli(['sync', '--once'])).code, 0);
  assert.deepEqual(
    (await names('configmaps')).filter((n) => n.startsWith('extra')),
    [],
  );
  const after = (await w.version(ns))?.status?.inventory?.map((r) => r.name) ?? [];
  assert.ok(!after.some((n) => n.startsWith('extra')), `inventory keeps pruned objects: ${after}`);
});

test('metrics: S3 writes are counted; the applied-commit gauge never names a refused sha', async () => {
  await w.withOperator({ GIT_SYNC_INTERVAL: '1' }, async (op) => {
    const good = await w.repo.commit({ [`${folder}/settings.yaml`]: configMap('settings', '3') }, 'good');
    await waitFor('good deployed', async () => ((await outcome('web', good)).ok ? true : undefined), {
      timeoutMs: 60_000,
    });
    const bad = await w.repo.commit({ [`${folder}/settings.yaml`]: 'kind: [\n' }, 'bad');
    await waitFor('bad told', async () => ((await outcome('web', bad)).failed ? true : undefined), {
      timeoutMs: 60_000,
    });
    await waitFor(
      'written counted',
      async () => {
        const text = await op.metrics.registry.metrics();
        return /gso_s3_writes_total\{result="ok"\} [1-9]/.test(text) ? text : undefined;
      },
      { timeoutMs: 10_000 },
    );
    const text = await op.metrics.registry.metrics();
    assert.match(text, new RegExp(`gso_applied_commit_info\\{namespace="${ns}",sha="${short(good)}"\\} 1`));
    assert.doesNotMatch(text, new RegExp(`sha="${short(bad)}"`));
    await w.repo.commit(healthySet(), 'healthy again');
  });
});

test('a sink added beside S3 gets every decided outcome once: one that is down keeps it pending, a restart delivers it, nothing is repeated', async () => {
  let up = false;
  const got: string[] = [];
  const hook: Sink = {
    name: 'hook',
    render: (o) => ({ key: `${o.deployment}@${o.sha7}`, body: 'healthyAt' in o ? 'healthy' : o.reason }),
    async send(d) {
      if (!up) throw new Error('hook is down');
      got.push(`${d.key} ${d.body}`);
    },
  };
  /** An in-process operator that tells `hook` too (plugged in without touching any sync stage). */
  const withHook = async (fn: () => Promise<void>) => {
    const op = w.operator({ GIT_SYNC_INTERVAL: '1' });
    op.deps.sinks.push(hook);
    const stop = new AbortController();
    const loop = op.run(stop.signal);
    try {
      await fn();
    } finally {
      stop.abort();
      await loop;
      op.close();
    }
  };
  const hookPending = (v: Awaited<ReturnType<World['version']>>) =>
    (v?.status?.pending ?? []).filter((p) => p.sink === 'hook').map((p) => p.key);

  const image = await w.repo.commit(
    {
      [`${folder}/api.yaml`]: deployment('api', { image: 'example/api:5' }),
      [`${folder}/web.yaml`]: deployment('web', { image: 'example/web:5' }),
    },
    'new images',
  );
  const s7 = short(image);
  await withHook(async () => {
    const v = await w.waitVersion(
      ns,
      'deployed, the hook deliveries pending',
      (x) => x.deployed === s7 && hookPending(x).length === 2,
    );
    assert.deepEqual(hookPending(v).sort(), [`api@${s7}`, `web@${s7}`]);
  });
  // S3 was told while the hook was down: one sink never holds another.
  assert.ok((await outcome('api', image)).ok, 'no S3 file for api');
  assert.ok((await outcome('web', image)).ok, 'no S3 file for web');
  assert.deepEqual(got, []);

  up = true;
  let bad = '';
  await withHook(async () => {
    await w.waitVersion(ns, 'the hook deliveries sent after the restart', (x) => hookPending(x).length === 0);
    assert.deepEqual([...got].sort(), [`api@${s7} healthy`, `web@${s7} healthy`]);
    bad = await w.repo.commit({ [`${folder}/web.yaml`]: 'kind: [\n' }, 'broken web');
    await w.waitVersion(
      ns,
      'the broken commit told to every sink',
      (x) => !!x.status?.decided?.includes(`web/${short(bad)}`) && (x.status?.pending ?? []).length === 0,
    );
    // More passes over the same head (every second) tell the hook nothing again.
    await new Promise((r) => setTimeout(r, 3_000));
  });
  assert.deepEqual(
    [...got].sort(),
    [
      `api@${s7} healthy`,
      `api@${short(bad)} InvalidManifests`,
      `web@${s7} healthy`,
      `web@${short(bad)} InvalidManifests`,
    ].sort(),
  );
  assert.match((await outcome('web', bad)).failed ?? '', /InvalidManifests/);
  await w.repo.commit(healthySet(), 'healthy again');
  assert.equal((await w.cli(['sync', '--once'])).code, 0);
});
