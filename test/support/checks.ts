// The end-state checks faults end with (one S3 file per deployment and sha, what was logged), and a
// big numbered set of ConfigMaps to apply and check.
import assert from 'node:assert/strict';
import { short } from '../../src/source/sha.ts';
import { waitFor } from '../../testbed/proc.ts';
import type { World } from './world.ts';

/** `files` YAML files of 100 ConfigMaps each (cm-F-I, data.n = F*100+I): a big set to apply. */
export function numberedConfigMaps(folder: string, files: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (let f = 0; f < files; f++) {
    out[`${folder}/cm-${f}.yaml`] = Array.from(
      { length: 100 },
      (_, i) =>
        `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-${f}-${i}}\ndata: {n: "${f * 100 + i}"}\n`,
    ).join('---\n');
  }
  return out;
}

/** The managed numberedConfigMaps in `ns`, and those whose data is not what git has. */
export async function numberedConfigMapsIn(
  w: World,
  ns: string,
): Promise<{ names: string[]; wrong: string[] }> {
  const list = JSON.parse(
    await w.kubectl(
      '-n',
      ns,
      'get',
      'configmaps',
      '-l',
      'git-sync-operator.mozilla.org/managed-by',
      '-o',
      'json',
    ),
  ) as { items: { metadata: { name: string }; data?: { n?: string } }[] };
  const names: string[] = [];
  const wrong: string[] = [];
  for (const c of list.items) {
    const m = /^cm-(\d+)-(\d+)$/.exec(c.metadata.name);
    if (!m) continue;
    names.push(c.metadata.name);
    if (c.data?.n !== String(Number(m[1]) * 100 + Number(m[2]))) wrong.push(c.metadata.name);
  }
  return { names, wrong };
}

/**
 * The CI contract after a fault: exactly one S3 key for (deployment, sha) — no `.failed` twin —
 * and its body is the time the Version recorded the deployment healthy (when still recorded).
 */
export async function assertS3Once(w: World, ns: string, deployment: string, sha: string): Promise<string> {
  const key = `${w.cluster}/${ns}/${deployment}/${short(sha)}`;
  const body = await waitFor(`S3 file ${key}`, () => w.s3.getObject(key), { timeoutMs: 90_000 });
  assert.deepEqual(await w.s3.listKeys(key), [key], `not exactly one S3 key for ${key}`);
  const state = (await w.version(ns))?.status?.deployments?.[deployment];
  if (state?.sha === short(sha)) assert.equal(body, state.healthyAt, `S3 body of ${key} is not healthyAt`);
  assert.ok(Number.isFinite(Date.parse(body)), `S3 body of ${key} is not a time: ${body}`);
  return key;
}

/** In-process "S3 file written" log lines for `key`. */
export function writesLogged(w: World, key: string): number {
  return w.logs.filter((l) => l.includes('"S3 file written"') && l.includes(`"key":"${key}"`)).length;
}
