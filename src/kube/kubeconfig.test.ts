import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { removeDir, tempDir } from '../../testbed/proc.ts';
import { resolveEndpoint } from './kubeconfig.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await removeDir(d);
});
async function folder(files: Record<string, string>): Promise<string> {
  const dir = await tempDir('kubeconfig');
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}
const config = (user: string, extra = '') =>
  `apiVersion: v1
kind: Config
current-context: main
clusters:
- name: c
  cluster: {server: "https://10.0.0.1:6443/", certificate-authority: pki/ca.crt${extra}}
users:
- name: u
  user: ${user}
contexts:
- name: main
  context: {cluster: c, user: u, namespace: team}
`;

describe('resolveEndpoint', () => {
  it('a static kubeconfig: server, namespace, token, CA read relative to the file', async () => {
    const dir = await folder({ config: config('{token: s3cr3t}'), 'pki/ca.crt': 'CA PEM' });
    const e = resolveEndpoint({ kubeconfig: join(dir, 'config'), env: {} });
    assert.equal(e.server, 'https://10.0.0.1:6443');
    assert.equal(e.namespace, 'team');
    assert.ok(!e.source.includes('s3cr3t'));
    const c = await e.credentials();
    assert.equal(c.headers.authorization, 'Bearer s3cr3t');
    assert.equal(String(c.tls.ca), 'CA PEM');
    assert.equal(c.tls.rejectUnauthorized, undefined);
  });

  it('tokenFile is read again on every call (rotating tokens); client certificates and basic auth', async () => {
    const dir = await folder({
      config: config(
        '{tokenFile: tok, client-certificate: pki/c.crt, client-key-data: S0VZ, username: ci, password: pw}',
        ', insecure-skip-tls-verify: true, tls-server-name: api.internal',
      ),
      tok: 'one\n',
      'pki/ca.crt': 'CA',
      'pki/c.crt': 'CERT',
    });
    const e = resolveEndpoint({ kubeconfig: join(dir, 'config'), env: {} });
    assert.equal((await e.credentials()).headers.authorization, 'Bearer one');
    await writeFile(join(dir, 'tok'), 'two');
    const c = await e.credentials();
    assert.equal(c.headers.authorization, 'Bearer two');
    assert.equal(String(c.tls.cert), 'CERT');
    assert.equal(String(c.tls.key), 'KEY');
    assert.equal(c.basic, 'ci:pw');
    assert.equal(c.tls.servername, 'api.internal');
    assert.equal(c.tls.rejectUnauthorized, false);
  });

  it('$KUBECONFIG lists merge as kubectl does: the first file to name an entry wins', async () => {
    const a = await folder({
      config: 'current-context: main\nusers:\n- name: u\n  user: {token: first}\n',
    });
    const b = await folder({ config: config('{token: second}'), 'pki/ca.crt': 'CA' });
    const e = resolveEndpoint({
      env: { KUBECONFIG: [join(a, 'config'), '/nonexistent/config', join(b, 'config')].join(':') },
    });
    assert.equal(e.server, 'https://10.0.0.1:6443');
    assert.equal((await e.credentials()).headers.authorization, 'Bearer first');
  });

  it('an exec plugin goes to @kubernetes/client-node, which runs it', async () => {
    const dir = await folder({
      'pki/ca.crt': 'CA',
      'plugin.sh':
        '#!/bin/sh\necho \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-exec"}}\'\n',
    });
    await writeFile(
      join(dir, 'config'),
      config(
        `{exec: {apiVersion: client.authentication.k8s.io/v1, command: ${join(dir, 'plugin.sh')}, interactiveMode: Never}}`,
      ),
    );
    await chmod(join(dir, 'plugin.sh'), 0o755);
    const e = resolveEndpoint({ kubeconfig: join(dir, 'config'), env: {} });
    assert.equal(e.server, 'https://10.0.0.1:6443');
    const c = await e.credentials();
    assert.equal(c.headers.Authorization ?? c.headers.authorization, 'Bearer from-exec');
  });

  it('in a pod: the service account token, CA and namespace', async () => {
    const sa = await folder({ token: 'pod-token\n', 'ca.crt': 'SA CA', namespace: 'gso\n' });
    const e = resolveEndpoint({
      env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443', HOME: tmpdir() },
      saDir: sa,
    });
    assert.equal(e.server, 'https://[fd00::1]:443');
    assert.equal(e.namespace, 'gso');
    const c = await e.credentials();
    assert.equal(c.headers.authorization, 'Bearer pod-token');
    assert.equal(String(c.tls.ca), 'SA CA');
  });

  it('says what is missing', async () => {
    const dir = await folder({ config: 'current-context: nope\ncontexts: []\n' });
    assert.throws(
      () => resolveEndpoint({ kubeconfig: join(dir, 'config'), env: {} }),
      /context "nope" is not defined/,
    );
    assert.throws(() => resolveEndpoint({ env: {}, saDir: dir }), /no kubeconfig: set KUBECONFIG/);
  });
});
