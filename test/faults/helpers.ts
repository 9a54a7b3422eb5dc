// Shared by the fault suite (test/faults/*.test.ts): operators that crash and restart, real `run`
// processes, request recording, and the end-state checks every fault ends with.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Operator } from '../../src/operator.ts';
import type { Version } from '../../src/version/types.ts';
import { logLines } from '../support/env.ts';
import { freePort, removeDir, type Service, startService, tempDir, waitFor } from '../support/proc.ts';
import type { World } from '../support/world.ts';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const short = (sha: string) => sha.slice(0, 7);

export { names } from '../support/world.ts';

/** name → resourceVersion of every object of these kinds in `ns`: equal snapshots = nothing written. */
export async function snapshot(w: World, ns: string, kinds: string): Promise<Record<string, string>> {
  const list = JSON.parse(await w.kubectl('-n', ns, 'get', kinds, '-o', 'json')) as {
    items: { kind: string; metadata: { name: string; resourceVersion: string } }[];
  };
  return Object.fromEntries(
    list.items.map((o) => [`${o.kind}/${o.metadata.name}`, o.metadata.resourceVersion]),
  );
}

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

export function waitVersionOf(
  w: World,
  ns: string,
  what: string,
  ok: (v: Version) => boolean,
  timeoutMs = 90_000,
): Promise<Version> {
  return waitFor(
    what,
    async () => {
      const v = await w.version(ns).catch(() => undefined);
      return v && ok(v) ? v : undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

export const condition = (v: Version | undefined, type: string) =>
  v?.status?.conditions?.find((c) => c.type === type);

/**
 * In-process operators under a supervisor, as the kubelet restarts a crashed pod: an operator
 * whose run() throws or loses its lease is closed and replaced by a new instance (nothing kept in
 * memory) until stop().
 */
export interface Supervised {
  /** The operators started so far; the last one is the current. */
  readonly ops: Operator[];
  restarts(): number;
  stop(): Promise<void>;
}

export function supervise(
  w: World,
  extra: Record<string, string>,
  onStart?: (op: Operator) => void,
): Supervised {
  const stop = new AbortController();
  const ops: Operator[] = [];
  let restarts = 0;
  const done = (async () => {
    while (!stop.signal.aborted) {
      const op = w.operator(extra);
      ops.push(op);
      onStart?.(op);
      try {
        await op.run(stop.signal);
      } catch {
        // crashed (e.g. the apiserver was down at start): restarted below
      } finally {
        op.close();
      }
      if (stop.signal.aborted) break;
      restarts++;
      await sleep(500);
    }
  })();
  return {
    ops,
    restarts: () => restarts,
    async stop() {
      stop.abort();
      await done;
    },
  };
}

/** Every write (non-GET) an operator's client sends, except its leader-election Lease calls. */
export function recordWrites(op: Operator): string[] {
  const writes: string[] = [];
  const client = op.deps.client;
  const json = client.json.bind(client);
  client.json = ((method: string, path: string, init?: Parameters<typeof json>[2]) => {
    if (method !== 'GET' && !path.includes('/leases')) writes.push(`${method} ${path.split('?')[0]}`);
    return json(method, path, init);
  }) as typeof client.json;
  return writes;
}

/** A real `git-sync-operator run` process (bin/git-sync-operator.js), as in a pod. */
export interface RunProcess {
  svc: Service;
  url: string;
  dir: string;
  /** Everything the process printed so far (stdout and stderr). */
  output(): Promise<string>;
  /** Its JSON log lines. */
  logs(): Promise<{ msg?: string; [k: string]: unknown }[]>;
  /** SIGKILL: no clean-up at all, like a node failure or an OOM kill. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRun(w: World, name: string, extra: Record<string, string>): Promise<RunProcess> {
  const port = await freePort();
  const dir = await tempDir(`run-${name}`);
  const env = {
    ...process.env,
    ...w.env({ LISTEN_ADDRESS: `127.0.0.1:${port}`, ...extra }),
    GSO_WORK_DIR: join(dir, 'work'),
  };
  const svc = startService(name, process.execPath, [join(root, 'bin', 'git-sync-operator.js'), 'run'], {
    logDir: dir,
    env,
    cwd: root,
  });
  const output = () => readFile(svc.logFile, 'utf8').catch(() => '');
  return {
    svc,
    url: `http://127.0.0.1:${port}`,
    dir,
    output,
    async logs() {
      return logLines(await output());
    },
    async kill() {
      svc.child.kill('SIGKILL');
      await svc.exited.catch(() => {});
    },
    async stop() {
      await svc.stop();
      await removeDir(dir);
    },
  };
}

/** Rejects when `p` takes longer than `ms` (a hang is a failure, never a stuck test). */
export async function within<T>(what: string, ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The real CLI with the world's environment plus `extra`, killed (code null) after `ms`. */
export async function runCli(
  w: World,
  args: string[],
  extra: Record<string, string>,
  ms: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dir = await tempDir('cli');
  try {
    const env = { ...process.env, ...w.env(extra), GSO_WORK_DIR: dir };
    const child = spawn(process.execPath, [join(root, 'bin', 'git-sync-operator.js'), ...args], {
      env,
      cwd: root,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    clearTimeout(timer);
    return { code, stdout, stderr };
  } finally {
    await removeDir(dir);
  }
}
