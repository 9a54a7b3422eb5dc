// apiserver throttling: API Priority and Fairness puts the operator's ServiceAccount in a priority
// level of a few seats that rejects (429 + Retry-After) instead of queueing. A big sync must still
// converge, and every retry must wait what the apiserver asked for.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { clusterRole, roleBinding, serviceAccount } from '../../src/install/rbac.ts';
import { short } from '../../src/source/sha.ts';
import { crdName, versionCrd } from '../../src/version/crd.ts';
import { removeDir, tempDir, waitFor } from '../../testbed/proc.ts';
import { appFiles, seedRepo } from '../../testbed/seed.ts';
import { assertS3Once, numberedConfigMaps, numberedConfigMapsIn } from '../support/checks.ts';
import { type RunProcess, startRun } from '../support/processes.ts';
import { startWorld, type World } from '../support/world.ts';

const ns = 'throttle';
const sa = `${ns}-git-sync-operator`;
const level = 'gso-throttled';
const flowcontrol = '/apis/flowcontrol.apiserver.k8s.io/v1';

let w: World;
let dir: string;

before(async () => {
  w = await startWorld({ namespaces: [ns], files: seedRepo('iowa-a', [ns]) });
  dir = await tempDir('throttle');
});
after(async () => {
  await w?.stop();
  if (dir) await removeDir(dir);
});

async function create(path: string, body: unknown): Promise<{ metadata: { uid: string } }> {
  const res = await w.cp.request('POST', path, body);
  assert.equal(res.status, 201, `POST ${path}: ${JSON.stringify(res.body)}`);
  return res.body as { metadata: { uid: string } };
}

/** A kubeconfig for the ServiceAccount (a bound token), as the operator has in its pod. */
async function serviceAccountKubeconfig(): Promise<{ file: string; token: string }> {
  await create('/apis/rbac.authorization.k8s.io/v1/clusterroles', clusterRole());
  await create(`/api/v1/namespaces/${ns}/serviceaccounts`, serviceAccount(sa, ns));
  await create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, roleBinding(ns, sa, ns));
  // Least privilege: the CRD is installed by an admin.
  await create('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', versionCrd());
  await waitFor('the Version CRD established', async () => {
    const res = await w.cp.request(
      'GET',
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crdName}`,
    );
    const conds = (res.body as { status?: { conditions?: { type: string; status: string }[] } }).status
      ?.conditions;
    return conds?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
  });
  const res = await w.cp.request('POST', `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { expirationSeconds: 3600 },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const token = (res.body as { status: { token: string } }).status.token;
  const admin = await readFile(w.cp.kubeconfig, 'utf8');
  assert.ok(admin.includes(`token: ${w.cp.token}`));
  const file = join(dir, 'kubeconfig');
  await writeFile(file, admin.replace(`token: ${w.cp.token}`, `token: ${token}`), { mode: 0o600 });
  return { file, token };
}

/** The APF headers of a request made with `token`: which FlowSchema classified it. */
async function flowSchemaOf(token: string, path: string): Promise<{ status: number; flowSchema: string }> {
  const ca = await readFile(w.cp.caFile);
  return new Promise((resolve, reject) => {
    const req = request(
      `${w.cp.server}${path}`,
      { ca, headers: { authorization: `Bearer ${token}`, accept: 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            flowSchema: String(res.headers['x-kubernetes-pf-flowschema-uid'] ?? ''),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** An apiserver_flowcontrol_* metric summed over the lines of one priority level. */
async function apf(metric: string, priorityLevel: string): Promise<number> {
  const res = await w.cp.request('GET', '/metrics');
  assert.equal(res.status, 200);
  return String(res.body)
    .split('\n')
    .filter(
      (l) =>
        l.startsWith(`apiserver_flowcontrol_${metric}{`) && l.includes(`priority_level="${priorityLevel}"`),
    )
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

interface Throttled {
  time: string;
  method: string;
  path: string;
  status: number;
  attempt: number;
  retryAfter?: number;
  waitMs: number;
}

test('throttling: APF rejects the operator (429, Retry-After) through a 304-object sync; it converges, each retry waits what the apiserver asked, one S3 file', async () => {
  const { file: kubeconfig, token } = await serviceAccountKubeconfig();
  // A priority level with a few seats that never queues, and a FlowSchema that puts the
  // ServiceAccount's every request (resources and non-resource URLs) there, ahead of the defaults.
  const pl = `${flowcontrol}/prioritylevelconfigurations`;
  const fs = `${flowcontrol}/flowschemas`;
  let run: RunProcess | undefined;
  try {
    await create(pl, {
      apiVersion: 'flowcontrol.apiserver.k8s.io/v1',
      kind: 'PriorityLevelConfiguration',
      metadata: { name: level },
      spec: {
        type: 'Limited',
        limited: {
          nominalConcurrencyShares: 1,
          lendablePercent: 0,
          borrowingLimitPercent: 0,
          limitResponse: { type: 'Reject' },
        },
      },
    });
    const schema = await create(fs, {
      apiVersion: 'flowcontrol.apiserver.k8s.io/v1',
      kind: 'FlowSchema',
      metadata: { name: level },
      spec: {
        priorityLevelConfiguration: { name: level },
        matchingPrecedence: 50,
        distinguisherMethod: { type: 'ByUser' },
        rules: [
          {
            subjects: [{ kind: 'ServiceAccount', serviceAccount: { name: sa, namespace: ns } }],
            resourceRules: [
              { verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: ['*'], clusterScope: true },
            ],
            nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
          },
        ],
      },
    });
    // The apiserver picks new APF objects up asynchronously: wait until it classifies with ours.
    await waitFor('the ServiceAccount classified under the new FlowSchema', async () => {
      const r = await flowSchemaOf(token, `/api/v1/namespaces/${ns}/configmaps?limit=1`);
      return r.status === 200 && r.flowSchema === schema.metadata.uid ? true : undefined;
    });
    const rejectedBefore = await apf('rejected_requests_total', level);
    const seats = await apf('nominal_limit_seats', level);

    const files = {
      ...appFiles(`iowa-a/${ns}`, 'bedrock', { image: 'mozmeao/bedrock:t1' }),
      ...numberedConfigMaps(`iowa-a/${ns}`, 3),
    };
    const sha = await w.repo.commit(files, 'throttle: 300 ConfigMaps and an app');
    const started = Date.now();
    run = await startRun(w, 'throttled', {
      KUBECONFIG: kubeconfig,
      MANAGED_NAMESPACES: ns,
      APPLY_CONCURRENCY: '64',
      LOG_LEVEL: 'debug',
    });
    const p = run;
    const v = await waitFor(
      'deployed = sha under throttling',
      async () => {
        const x = await w.version(ns);
        return x?.deployed === short(sha) && (x.status?.pending ?? []).length === 0 ? x : undefined;
      },
      { timeoutMs: 420_000, intervalMs: 500, service: p.svc },
    );
    const seconds = (Date.now() - started) / 1000;
    assert.equal(v.applied, short(sha));
    assert.equal(v.status?.lastError, '');
    assert.equal(v.status?.deployments?.bedrock?.notified, true);

    // Every object applied, with its content.
    const { names, wrong } = await numberedConfigMapsIn(w, ns);
    assert.equal(names.length, 300, 'ConfigMaps missing');
    assert.deepEqual(wrong, [], 'ConfigMaps with wrong data');
    for (const kind of ['deployment', 'service', 'horizontalpodautoscaler', 'configmap'])
      await w.kubectl('-n', ns, 'get', kind, kind === 'configmap' ? 'bedrock-config' : 'bedrock');
    await assertS3Once(w, ns, 'bedrock', sha);
    assert.deepEqual(await w.s3.listKeys(`iowa-a/${ns}/bedrock/${short(sha)}.failed`), [], 'a .failed file');

    // The logs first, then the metric: the operator is still running, and a retry is logged only
    // after its rejection was counted — read the other way round, one in between is a false excess.
    const logs = await p.logs();
    // APF really rejected this operator's requests, under our priority level.
    const rejected = (await apf('rejected_requests_total', level)) - rejectedBefore;
    assert.ok(rejected > 0, 'APF rejected nothing: the operator was not throttled');

    // Each 429 was retried after exactly the Retry-After the apiserver sent (whole seconds; the
    // client caps a wait at 30 s), never after the client's own fallback backoff.
    const throttled = logs.filter((l) => l.msg === 'apiserver throttled, retrying') as unknown as Throttled[];
    const by429 = throttled.filter((t) => t.status === 429);
    assert.ok(by429.length > 0, 'no throttled retry logged');
    assert.ok(by429.length <= rejected, `${by429.length} retries logged for ${rejected} rejections`);
    for (const t of by429) {
      assert.ok(
        Number.isInteger(t.retryAfter) && (t.retryAfter ?? 0) >= 1,
        `429 without a Retry-After: ${JSON.stringify(t)}`,
      );
      assert.equal(
        t.waitMs,
        Math.min(t.retryAfter ?? 0, 30) * 1000,
        `wait does not follow the header: ${JSON.stringify(t)}`,
      );
      assert.ok(!t.path.includes('?'), 'query logged');
    }
    // And the waits were kept: the next attempt of the same request came no sooner.
    const last = new Map<string, Throttled>();
    let gaps = 0;
    for (const t of by429) {
      const key = `${t.method} ${t.path}`;
      const prev = last.get(key);
      if (prev && t.attempt === prev.attempt + 1) {
        gaps++;
        const gap = Date.parse(t.time) - Date.parse(prev.time);
        assert.ok(gap >= prev.waitMs - 5, `${key} retried after ${gap} ms, asked to wait ${prev.waitMs} ms`);
      }
      last.set(key, t);
    }
    const values = [...new Set(by429.map((t) => t.retryAfter))].sort((a, b) => (a ?? 0) - (b ?? 0));
    const errors = logs.filter((l) => l.level === 'error').length;
    console.log(
      `throttling: ${seats} seats, ${rejected} APF rejections, ${by429.length} retries logged (${gaps} consecutive), Retry-After values ${values.join(', ')} s, ${errors} error lines, converged in ${seconds.toFixed(1)} s`,
    );
  } finally {
    await run?.stop();
    for (const path of [`${fs}/${level}`, `${pl}/${level}`]) await w.cp.request('DELETE', path);
  }
});
