// The status page in a real browser (Chromium), served by a real operator on the real control
// plane: a held rollout shows Progressing, then — without a reload — Ready with its commit and
// timeline; a commit the apiserver refuses shows Failed with its file:line; a commit subject with
// markup is shown as text. SCREENSHOTS=DIR also saves the healthy and the failed page there.
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'puppeteer-core';
import { operatorEndpoints, startServer } from '../../src/server.ts';
import { displayUrl } from '../../src/source/redact.ts';
import { short } from '../../src/source/sha.ts';
import type { StatusSnapshot } from '../../src/web/status.ts';
import { waitFor } from '../../testbed/proc.ts';
import { appFiles, seedRepo } from '../../testbed/seed.ts';
import { launchChromium, type NamespaceView, namespaceView } from '../support/browser.ts';
import { startWorld, type World } from '../support/world.ts';

const ns = 'storefront';
const folder = `iowa-a/${ns}`;
let w: World;
let browser: Browser;

before(async () => {
  // The browser first: a missing Chromium fails here, before the testbed starts.
  browser = await launchChromium();
  w = await startWorld({ namespaces: [ns], files: seedRepo('iowa-a', [ns]) });
});
after(async () => {
  await browser?.close();
  await w?.stop();
});

/** Pods of the Deployment wait for the test (a scheduling gate): the rollout holds until released. */
const gated = (image: string) =>
  appFiles(folder, 'bedrock', { image, podSpec: { schedulingGates: [{ name: 'testbed/hold' }] } });

/** Removes the scheduling gates of every pod in the namespace, again and again until stopped. */
function releasePods(): { stop: () => Promise<void> } {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const pods = (await w.cp.request('GET', `/api/v1/namespaces/${ns}/pods`)).body as {
        items: { metadata: { name: string }; spec: { schedulingGates?: unknown[] } }[];
      };
      for (const p of pods.items.filter((p) => p.spec.schedulingGates?.length))
        await w.cp.request(
          'PATCH',
          `/api/v1/namespaces/${ns}/pods/${p.metadata.name}`,
          { spec: { schedulingGates: [] } },
          'application/merge-patch+json',
        );
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

/** Waits until the page, as it refreshes itself, shows what `ok` wants. */
function waitPage(page: Page, what: string, ok: (v: NamespaceView) => boolean): Promise<NamespaceView> {
  return waitFor(
    `the page to show ${what}`,
    async () => {
      const v = await namespaceView(page, ns);
      return v && ok(v) ? v : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 200 },
  );
}

async function statusJson(port: number): Promise<StatusSnapshot> {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/status`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  return (await res.json()) as StatusSnapshot;
}

/** The JSON says what the page shows: state, workloads, last error, the newest sync. */
function assertSame(json: StatusSnapshot, v: NamespaceView): void {
  const n = json.namespaces.find((x) => x.namespace === ns);
  assert.ok(n, JSON.stringify(json));
  assert.equal(n.state, v.badge);
  assert.deepEqual(
    n.workloads.map((x) => [x.name, x.state]),
    v.workloads.map((x) => [x.name, x.state]),
  );
  assert.equal(n.lastError, v.lastError);
  assert.equal(short(n.applied?.sha ?? ''), v.applied?.sha);
  assert.deepEqual(
    n.history.map((e) => [short(e.sha), e.result]),
    v.runs.map((r) => [r.sha, r.result]),
  );
}

async function screenshot(page: Page, file: string): Promise<void> {
  const dir = process.env.SCREENSHOTS;
  if (dir) await page.screenshot({ path: join(dir, file), type: 'png' });
}

test('the status page follows a rollout live, shows a refused commit as Failed, commit text as text; a standby says so', async () => {
  const op = w.operator({ GIT_SYNC_INTERVAL: '0.5' });
  const { server, port } = await startServer(operatorEndpoints(op), '127.0.0.1', 0);
  const stop = new AbortController();
  const loop = op.run(stop.signal);
  const page = await browser.newPage();
  try {
    await page.setViewport({ width: 1200, height: 800 });
    await storyOf(page, port);
    await standbyOf(page, (await statusJson(port)).replica.leader);
  } finally {
    await page.close();
    stop.abort();
    await loop;
    op.close();
    await closeServer(server);
  }
});

async function storyOf(page: Page, port: number): Promise<void> {
  const initial = await w.repo.head();
  await w.waitVersion(ns, 'the initial commit deployed', (v) => v.deployed === short(initial));
  const res = await page.goto(`http://127.0.0.1:${port}/`);
  assert.equal(res?.status(), 200);
  assert.match(res?.headers()['content-security-policy'] ?? '', /script-src 'sha256-/);
  await page.evaluate('window.notReloaded = true');
  const first = await waitPage(page, 'Ready at the initial commit', (v) => v.badge === 'Ready');
  assert.equal(first.deployed?.sha, short(initial));
  const source = String(await page.evaluate(`document.querySelector('[data-section="source"]').innerText`));
  assert.ok(source.includes(displayUrl(w.env().CONFIG_REPO ?? '')), source);
  assert.match(source, /Branch\s+main/);

  // A rollout held by its pods' scheduling gates: Progressing, on the page and in the JSON.
  const v2 = await w.repo.commit(gated('mozmeao/bedrock:v2'), 'bedrock: image v2');
  const rolling = await waitPage(
    page,
    'v2 Progressing',
    (v) =>
      v.badge === 'Progressing' && v.applied?.sha === short(v2) && v.workloads[0]?.state === 'Progressing',
  );
  assert.deepEqual(rolling.workloads, [{ name: 'bedrock', state: 'Progressing', detail: 'rolling out' }]);
  assert.equal(rolling.applied?.subject, 'bedrock: image v2');
  assert.equal(rolling.deployed?.sha, short(initial), 'deployed moved before the rollout ended');
  assert.equal(rolling.runs[0]?.result, 'Progressing');
  assertSame(await statusJson(port), rolling);
  // While the pods are held it stays so, through refreshes: nothing claims Ready early.
  await new Promise((r) => setTimeout(r, 4000));
  const held = await namespaceView(page, ns);
  assert.equal(held?.badge, 'Progressing');
  assert.equal(held?.workloads[0]?.state, 'Progressing');

  // Released: Ready at v2, without a reload, with the commit and a timeline row of every step.
  const release = releasePods();
  const ready = await waitPage(
    page,
    'v2 Ready and CI notified',
    (v) => v.badge === 'Ready' && v.deployed?.sha === short(v2) && /notified/.test(v.runs[0]?.steps ?? ''),
  ).finally(() => release.stop());
  assert.equal(await page.evaluate('window.notReloaded'), true, 'the page was reloaded');
  assert.equal(ready.deployed?.subject, 'bedrock: image v2');
  assert.equal(ready.workloads[0]?.state, 'Healthy');
  const run = ready.runs[0];
  assert.equal(run?.sha, short(v2));
  assert.equal(run?.result, 'Deployed');
  assert.match(
    run?.steps ?? '',
    /^committed → seen \+\d+s → applied \+\d+s → healthy \+\d+s → notified \+\d+s$/,
    run?.steps,
  );
  assert.equal(run?.bar.length, 4, `one bar segment per step: ${run?.bar}`);
  assert.ok(
    run?.bar.every((s) => /^\d+s$/.test(s)),
    `segments labelled in seconds: ${run?.bar}`,
  );
  assert.deepEqual(
    ready.runs.map((r) => [r.sha, r.result]),
    [
      [short(v2), 'Deployed'],
      [short(initial), 'Deployed'],
    ],
  );
  assertSame(await statusJson(port), ready);
  await screenshot(page, 'status-page.png');

  // The apiserver refuses the Service (a port out of range): Failed, with the file:line.
  const svc =
    'apiVersion: v1\nkind: Service\nmetadata:\n  name: bedrock\nspec:\n  ports:\n    - port: 70000\n';
  const bad = await w.repo.commit({ [`${folder}/svc.yaml`]: svc }, 'bedrock: expose port 70000');
  const failed = await waitPage(page, 'the refused commit Failed', (v) => v.badge === 'Failed');
  assert.match(failed.detail, /^DryRunRejected · /);
  assert.match(failed.lastError ?? '', new RegExp(`^${folder}/svc\\.yaml:\\d+: Service/bedrock: .*70000`));
  assert.equal(failed.runs[0]?.sha, short(bad));
  assert.equal(failed.runs[0]?.result, 'Failed');
  assert.match(failed.runs[0]?.reason ?? '', /^DryRunRejected: iowa-a\/storefront\/svc\.yaml:\d+: /);
  assert.equal(failed.workloads[0]?.state, 'Healthy', 'nothing of the refused commit was applied');
  assertSame(await statusJson(port), failed);
  await screenshot(page, 'status-page-failed.png');

  // Markup in a commit subject is text: shown as written, never run.
  const subject = 'fix the port <script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">';
  const fixed = await w.repo.commit(
    { ...appFiles(folder, 'bedrock', { image: 'mozmeao/bedrock:v3' }) },
    subject,
  );
  const shown = await waitPage(
    page,
    'the fix Ready',
    (v) => v.badge === 'Ready' && v.deployed?.sha === short(fixed),
  );
  assert.equal(shown.applied?.subject, subject);
  assert.equal(shown.runs[0]?.subject, subject);
  assert.equal(await page.evaluate('window.pwned'), undefined, 'markup from a commit ran');
  assert.equal(await page.evaluate('document.querySelectorAll("script, img").length'), 1);
  const raw = await (await fetch(`http://127.0.0.1:${port}/`)).text();
  assert.ok(!raw.includes('<script>window.pwned'), 'a subject reached the page as markup');
}

/** A second replica stands by for the lease: its page says so and names the leader. */
async function standbyOf(page: Page, leader: string | undefined): Promise<void> {
  assert.ok(leader, 'the leading replica does not know who leads');
  const op = w.operator({ GIT_SYNC_INTERVAL: '0.5' });
  const { server, port } = await startServer(operatorEndpoints(op), '127.0.0.1', 0);
  const stop = new AbortController();
  const loop = op.run(stop.signal);
  try {
    const json = await waitFor('the second replica standing by', async () => {
      const s = await statusJson(port);
      return s.replica.role === 'standby' ? s : undefined;
    });
    assert.deepEqual(json.replica, { role: 'standby', leader });
    assert.equal(json.namespaces[0]?.state, 'Ready', 'a standby reads the Versions the leader wrote');
    await page.goto(`http://127.0.0.1:${port}/`);
    const banner = String(await page.evaluate(`document.querySelector('[data-role="standby"]').innerText`));
    assert.match(
      banner,
      new RegExp(`This replica is a standby: another replica \\(${leader}\\) holds the leader lease`),
    );
  } finally {
    stop.abort();
    await loop;
    op.close();
    await closeServer(server);
  }
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
