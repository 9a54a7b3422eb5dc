// `npm run demo -- --keep`: after the promotion everything stays up and the printed commands work
// (kubectl's kubeconfig, the status pages, `status --bucket` with the printed env); SIGINT to the
// demo alone stops it all, leaving no process behind. (A terminal's Ctrl-C signals the whole group:
// the children then stop on their own too; that only hides a missing cleanup, so not tested here.)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { exec, waitFor } from '../../testbed/proc.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Pids of the process group `pgid` (the demo and everything it started). */
async function group(pgid: number): Promise<number[]> {
  const { stdout } = await exec('ps', ['-eo', 'pid=,pgid=,stat=']);
  return stdout
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([, g, stat]) => Number(g) === pgid && !stat?.startsWith('Z'))
    .map(([pid]) => Number(pid));
}

test('demo --keep: the printed commands work while it runs; SIGINT stops every process', async () => {
  // Its own process group, as in a terminal; the demo's children inherit it.
  const demo = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', '--keep'], {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pgid = demo.pid as number;
  let out = '';
  demo.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  demo.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)));
  try {
    await Promise.race([
      waitFor('"Ctrl-C to stop"', async () => (out.includes('\nCtrl-C to stop\n') ? true : undefined), {
        timeoutMs: 300_000,
      }),
      exited.then((code) => assert.fail(`the demo ended (exit ${code}) instead of staying up:\n${out}`)),
    ]);
    const kubeconfigs = [...out.matchAll(/kubectl --kubeconfig (\S+) get versions -A/g)].map(
      (m) => m[1] as string,
    );
    assert.equal(kubeconfigs.length, 2, out);
    for (const k of kubeconfigs) assert.ok(existsSync(k), k);
    const pages = [...out.matchAll(/status page (http:\/\/127\.0\.0\.1:\d+\/)/g)].map((m) => m[1] as string);
    assert.equal(pages.length, 2, out);
    for (const page of pages) {
      const res = await fetch(page);
      assert.equal(res.status, 200, page);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
      await res.body?.cancel();
    }
    // The printed status command, with the printed environment.
    const m = /((?:AWS_\w+=\S+ )+)\\\n\s+npx node bin\/git-sync-operator\.js (status .*)\n/.exec(out);
    assert.ok(m?.[1] && m[2], out);
    const env = {
      ...process.env,
      ...Object.fromEntries(
        m[1]
          .trim()
          .split(' ')
          .map((kv) => kv.split('=')),
      ),
    };
    const status = await exec(process.execPath, ['bin/git-sync-operator.js', ...m[2].split(' ')], {
      cwd: root,
      env,
    });
    assert.equal(status.code, 0, status.stderr);
    // Both clusters run the last commit promoted (frankfurt's, which left iowa-a's spec as it was).
    assert.match(
      status.stdout,
      /^NAMESPACE +DEPLOYMENT +frankfurt +iowa-a\nbedrock-demo +bedrock +([0-9a-f]{7}) \d+[sm] +\1 \d+[sm]\n$/,
    );

    const running = await group(pgid);
    assert.ok(running.length >= 10, `the demo's processes: ${running.length}`);
    process.kill(-pgid, 'SIGINT'); // Ctrl-C in a terminal: the whole process group
    assert.equal(await exited, 130, out);
    await waitFor(
      'every process of the demo gone',
      async () => ((await group(pgid)).length === 0 ? true : undefined),
      {
        timeoutMs: 5_000, // the demo exits after stopping them: nothing should outlive it
      },
    );
    for (const k of kubeconfigs) assert.ok(!existsSync(k), `${k} removed`);
  } finally {
    // Whatever is left of the group (the demo, or what it failed to stop).
    if ((await group(pgid)).length > 0) process.kill(-pgid, 'SIGKILL');
  }
});
