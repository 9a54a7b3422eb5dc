import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from './config.ts';

const base = {
  CONFIG_REPO: 'https://github.com/mozmeao/config.git',
  CLUSTER_NAME: 'oregon-b',
  POD_NAMESPACE: 'gso',
};

/** Asserts a ConfigError for `variable` whose message starts with the variable's name. */
function rejects(env: Record<string, string | undefined>, variable: string, includes?: string): void {
  assert.throws(
    () => loadConfig(env),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
      assert.equal(err.name, 'ConfigError');
      assert.equal(err.variable, variable);
      assert.ok(err.message.startsWith(`${variable}: `), err.message);
      assert.ok(!err.message.includes('\n'), 'one line');
      if (includes) assert.ok(err.message.includes(includes), err.message);
      return true;
    },
  );
}

const serviceAccountNamespace = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    assert.deepEqual(loadConfig(base), {
      configRepo: 'https://github.com/mozmeao/config.git',
      configBranch: undefined,
      managedNamespaces: ['gso'],
      clusterName: 'oregon-b',
      s3Bucket: undefined,
      syncIntervalSeconds: 60,
      driftWatch: true,
      driftIntervalSeconds: undefined,
      rolloutTimeoutSeconds: 600,
      webhookSecret: undefined,
      forceConflicts: false,
      sshKeyFile: undefined,
      sshKnownHostsFile: undefined,
      workDir: '/tmp/git-sync-operator',
      applyConcurrency: 32,
      namespaceConcurrency: 16,
      leaderElection: { enabled: true, namespace: 'gso', durationSeconds: 15 },
      sharding: undefined,
      listen: { host: '0.0.0.0', port: 8080 },
      notify: { pageUrl: undefined, commitStatus: undefined, webhook: undefined, slack: undefined },
    });
  });

  it('reads every variable', () => {
    const c = loadConfig({
      CONFIG_REPO: ' git@github.com:mozmeao/config.git ',
      CONFIG_BRANCH: 'release/v1.2',
      MANAGED_NAMESPACES: 'bedrock-dev,bedrock-stage',
      CLUSTER_NAME: 'frankfurt',
      S3_BUCKET: 'deploy-status',
      GIT_SYNC_INTERVAL: '15',
      DRIFT_INTERVAL: '120',
      ROLLOUT_TIMEOUT: '2.5',
      WEBHOOK_SECRET: 's3cret',
      FORCE_CONFLICTS: 'yes',
      GIT_SSH_KEY_FILE: '/etc/git-secret/id_ed25519',
      GIT_SSH_KNOWN_HOSTS: '/etc/git-secret/known_hosts',
      GSO_WORK_DIR: '/var/cache/gso',
      APPLY_CONCURRENCY: '4',
      LISTEN_ADDRESS: '127.0.0.1:9090',
      LEADER_ELECT: 'false',
      LEASE_NAMESPACE: 'operators',
      LEASE_DURATION: '30',
      STATUS_PAGE_URL: 'https://deploys.example.com/frankfurt/',
      COMMIT_STATUS_PROVIDER: 'GitHub',
      COMMIT_STATUS_TOKEN: 'ghp_token',
      COMMIT_STATUS_API_URL: 'https://ghe.example.com/api/v3/',
      COMMIT_STATUS_REPO: 'mozmeao/config',
      NOTIFY_WEBHOOK_URL: 'https://hooks.example.com/deploys',
      NOTIFY_WEBHOOK_SECRET: 'hmac-key',
      SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T0/B0/x',
    });
    assert.deepEqual(c, {
      configRepo: 'git@github.com:mozmeao/config.git',
      configBranch: 'release/v1.2',
      managedNamespaces: ['bedrock-dev', 'bedrock-stage'],
      clusterName: 'frankfurt',
      s3Bucket: 'deploy-status',
      syncIntervalSeconds: 15,
      driftWatch: true,
      driftIntervalSeconds: 120,
      rolloutTimeoutSeconds: 2.5,
      webhookSecret: 's3cret',
      forceConflicts: true,
      sshKeyFile: '/etc/git-secret/id_ed25519',
      sshKnownHostsFile: '/etc/git-secret/known_hosts',
      workDir: '/var/cache/gso',
      applyConcurrency: 4,
      namespaceConcurrency: 16,
      leaderElection: { enabled: false, namespace: 'operators', durationSeconds: 30 },
      sharding: undefined,
      listen: { host: '127.0.0.1', port: 9090 },
      notify: {
        pageUrl: 'https://deploys.example.com/frankfurt',
        commitStatus: {
          provider: 'github',
          apiUrl: 'https://ghe.example.com/api/v3',
          repo: 'mozmeao/config',
          token: 'ghp_token',
        },
        webhook: { url: 'https://hooks.example.com/deploys', secret: 'hmac-key' },
        slack: { url: 'https://hooks.slack.com/services/T0/B0/x' },
      },
    });
  });

  it('treats empty and blank optional values as unset', () => {
    const c = loadConfig({
      ...base,
      CONFIG_BRANCH: '',
      S3_BUCKET: '   ',
      WEBHOOK_SECRET: '',
      GIT_SYNC_INTERVAL: ' ',
      FORCE_CONFLICTS: '',
      GIT_SSH_KEY_FILE: '',
    });
    assert.equal(c.configBranch, undefined);
    assert.equal(c.s3Bucket, undefined);
    assert.equal(c.webhookSecret, undefined);
    assert.equal(c.syncIntervalSeconds, 60);
    assert.equal(c.forceConflicts, false);
    assert.equal(c.sshKeyFile, undefined);
  });

  describe('required variables', () => {
    it('CONFIG_REPO missing or blank', () => {
      rejects({ ...base, CONFIG_REPO: undefined }, 'CONFIG_REPO', 'required');
      rejects({ ...base, CONFIG_REPO: '  ' }, 'CONFIG_REPO', 'required');
    });
    it('CLUSTER_NAME missing or blank', () => {
      rejects({ ...base, CLUSTER_NAME: undefined }, 'CLUSTER_NAME', 'required');
      rejects({ ...base, CLUSTER_NAME: '' }, 'CLUSTER_NAME', 'required');
    });
  });

  describe('CONFIG_REPO', () => {
    for (const url of [
      'https://github.com/a/b.git',
      'http://localhost:8080/repo.git',
      'ssh://git@github.com/a/b.git',
      'git@github.com:a/b.git',
      'file:///srv/git/config.git',
    ]) {
      it(`accepts ${url}`, () => assert.equal(loadConfig({ ...base, CONFIG_REPO: url }).configRepo, url));
    }
    for (const url of [
      'github.com/a/b',
      '/srv/git/config.git',
      'ftp://example.com/x.git',
      'ext::sh -c touch% /tmp/pwned',
      '--upload-pack=touch /tmp/pwned',
    ]) {
      it(`rejects ${url}`, () => rejects({ ...base, CONFIG_REPO: url }, 'CONFIG_REPO'));
    }
  });

  describe('CONFIG_BRANCH', () => {
    for (const b of ['-x', 'a..b', 'has space', 'a;rm', 'x'.repeat(201)]) {
      it(`rejects ${JSON.stringify(b.slice(0, 20))}`, () =>
        rejects({ ...base, CONFIG_BRANCH: b }, 'CONFIG_BRANCH'));
    }
    it('accepts main and release/v1.2', () => {
      assert.equal(loadConfig({ ...base, CONFIG_BRANCH: 'main' }).configBranch, 'main');
      assert.equal(loadConfig({ ...base, CONFIG_BRANCH: 'release/v1.2' }).configBranch, 'release/v1.2');
    });
  });

  describe('CLUSTER_NAME', () => {
    for (const name of ['a/b', '../x', '.hidden', 'x y', '-x']) {
      it(`rejects ${JSON.stringify(name)}`, () => rejects({ ...base, CLUSTER_NAME: name }, 'CLUSTER_NAME'));
    }
  });

  describe('MANAGED_NAMESPACES', () => {
    it('trims, drops empty items and duplicates, keeps order', () => {
      const c = loadConfig({ ...base, MANAGED_NAMESPACES: ' b , a,b,, a ,c' });
      assert.deepEqual(c.managedNamespaces, ['b', 'a', 'c']);
    });
    it('wins over POD_NAMESPACE', () => {
      assert.deepEqual(loadConfig({ ...base, MANAGED_NAMESPACES: 'web' }).managedNamespaces, ['web']);
    });
    it('rejects a list of nothing', () => {
      rejects({ ...base, MANAGED_NAMESPACES: ' , ,' }, 'MANAGED_NAMESPACES', 'no namespace');
    });
    for (const ns of ['Bedrock', 'a_b', '-a', 'a-', 'a.b', 'x'.repeat(64)]) {
      it(`rejects the namespace ${JSON.stringify(ns.slice(0, 20))}`, () =>
        rejects({ ...base, MANAGED_NAMESPACES: `ok,${ns}` }, 'MANAGED_NAMESPACES', ns));
    }
    it('accepts a 63-character namespace', () => {
      const ns = `a${'b'.repeat(61)}c`;
      assert.deepEqual(loadConfig({ ...base, MANAGED_NAMESPACES: ns }).managedNamespaces, [ns]);
    });
  });

  describe('POD_NAMESPACE fallback', () => {
    it('uses POD_NAMESPACE when MANAGED_NAMESPACES is unset or blank', () => {
      assert.deepEqual(loadConfig({ ...base, POD_NAMESPACE: 'ops' }).managedNamespaces, ['ops']);
      assert.deepEqual(
        loadConfig({ ...base, MANAGED_NAMESPACES: '  ', POD_NAMESPACE: 'ops' }).managedNamespaces,
        ['ops'],
      );
    });
    it('validates the POD_NAMESPACE value too', () => {
      assert.throws(
        () => loadConfig({ ...base, POD_NAMESPACE: 'Not_Valid' }),
        (err: unknown) => err instanceof ConfigError && err.message.includes('Not_Valid'),
      );
    });
    it('outside a pod, without either variable, names MANAGED_NAMESPACES', {
      skip: existsSync(serviceAccountNamespace) && 'running inside a pod',
    }, () => {
      rejects({ ...base, POD_NAMESPACE: undefined }, 'MANAGED_NAMESPACES', 'outside a pod');
    });
  });

  describe('numbers', () => {
    for (const name of ['GIT_SYNC_INTERVAL', 'DRIFT_INTERVAL', 'ROLLOUT_TIMEOUT', 'APPLY_CONCURRENCY']) {
      for (const raw of ['0', '-5', 'abc', 'Infinity', 'NaN', '10s']) {
        it(`${name}=${raw} is rejected`, () => rejects({ ...base, [name]: raw }, name, raw));
      }
    }
    it('accepts seconds with blanks and fractions', () => {
      const c = loadConfig({ ...base, GIT_SYNC_INTERVAL: ' 30 ', ROLLOUT_TIMEOUT: '0.5' });
      assert.equal(c.syncIntervalSeconds, 30);
      assert.equal(c.rolloutTimeoutSeconds, 0.5);
    });
    it('rejects seconds beyond what a Node timer can wait (it would fire after 1 ms)', () => {
      rejects({ ...base, GIT_SYNC_INTERVAL: '3000000' }, 'GIT_SYNC_INTERVAL');
      rejects({ ...base, ROLLOUT_TIMEOUT: '5000000' }, 'ROLLOUT_TIMEOUT');
      assert.equal(loadConfig({ ...base, GIT_SYNC_INTERVAL: '86400' }).syncIntervalSeconds, 86400);
    });
    it('SHARDS above 1 splits the namespaces, SHARD_REPLICAS defaulting to SHARDS; both whole numbers', () => {
      assert.deepEqual(loadConfig({ ...base, SHARDS: '3' }).sharding, { shards: 3, replicas: 3 });
      assert.deepEqual(loadConfig({ ...base, SHARDS: '6', SHARD_REPLICAS: '2' }).sharding, {
        shards: 6,
        replicas: 2,
      });
      assert.equal(loadConfig({ ...base, SHARDS: '1', SHARD_REPLICAS: '3' }).sharding, undefined);
      rejects({ ...base, SHARDS: '0' }, 'SHARDS', 'integer');
      rejects({ ...base, SHARDS: '3', SHARD_REPLICAS: '1.5' }, 'SHARD_REPLICAS', 'integer');
      rejects({ ...base, SHARDS: '3', LEASE_DURATION: '7.5' }, 'LEASE_DURATION', 'whole number');
    });

    it('APPLY_CONCURRENCY must be a whole number (0.5 would start no worker)', () => {
      rejects({ ...base, APPLY_CONCURRENCY: '0.5' }, 'APPLY_CONCURRENCY', 'integer');
      rejects({ ...base, APPLY_CONCURRENCY: '1.5' }, 'APPLY_CONCURRENCY', 'integer');
      assert.equal(loadConfig({ ...base, APPLY_CONCURRENCY: '1' }).applyConcurrency, 1);
    });
  });

  describe('FORCE_CONFLICTS', () => {
    for (const [raw, want] of [
      ['1', true],
      ['true', true],
      ['TRUE', true],
      [' yes ', true],
      ['0', false],
      ['false', false],
      ['No', false],
    ] as const) {
      it(`${JSON.stringify(raw)} → ${want}`, () =>
        assert.equal(loadConfig({ ...base, FORCE_CONFLICTS: raw }).forceConflicts, want));
    }
    it('rejects anything else', () => rejects({ ...base, FORCE_CONFLICTS: 'maybe' }, 'FORCE_CONFLICTS'));
  });

  describe('LISTEN_ADDRESS', () => {
    it('an empty host means every interface', () => {
      assert.deepEqual(loadConfig({ ...base, LISTEN_ADDRESS: ':9100' }).listen, {
        host: '0.0.0.0',
        port: 9100,
      });
    });
    for (const raw of ['8080', 'localhost', 'localhost:http', 'localhost:65536']) {
      it(`rejects ${raw}`, () => rejects({ ...base, LISTEN_ADDRESS: raw }, 'LISTEN_ADDRESS', raw));
    }
  });

  describe('ssh file paths', () => {
    for (const name of ['GIT_SSH_KEY_FILE', 'GIT_SSH_KNOWN_HOSTS']) {
      for (const raw of ['/tmp/a b', '$(touch /tmp/x)', "/tmp/'q'", '/tmp/a;b', '/tmp/`id`']) {
        it(`${name}=${raw} is rejected`, () => rejects({ ...base, [name]: raw }, name));
      }
    }
  });
});
