import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../config.ts';
import { repoParts } from './notify.ts';

const base = { CLUSTER_NAME: 'oregon-b', POD_NAMESPACE: 'gso' };
const statusOf = (env: Record<string, string>) =>
  loadConfig({ CONFIG_REPO: 'https://github.com/mozmeao/config.git', ...base, ...env }).notify.commitStatus;

describe('notification settings', () => {
  it('derive the repository and API of each provider from CONFIG_REPO', () => {
    const token = { COMMIT_STATUS_TOKEN: 't0ken' };
    assert.deepEqual(statusOf({ COMMIT_STATUS_PROVIDER: 'github', ...token }), {
      provider: 'github',
      apiUrl: 'https://api.github.com',
      repo: 'mozmeao/config',
      token: 't0ken',
    });
    const gitea = loadConfig({
      CONFIG_REPO: 'http://gso:secret@127.0.0.1:3000/ops/config.git',
      ...base,
      COMMIT_STATUS_PROVIDER: 'forgejo',
      ...token,
    }).notify.commitStatus;
    assert.deepEqual(gitea, {
      provider: 'gitea',
      apiUrl: 'http://127.0.0.1:3000',
      repo: 'ops/config',
      token: 't0ken',
    });
    const gitlab = loadConfig({
      CONFIG_REPO: 'git@gitlab.example.com:platform/deploys/config.git',
      ...base,
      COMMIT_STATUS_PROVIDER: 'gitlab',
      ...token,
    }).notify.commitStatus;
    assert.equal(gitlab?.apiUrl, 'https://gitlab.example.com');
    assert.equal(gitlab?.repo, 'platform/deploys/config', 'GitLab: the full project path');
  });

  it('refuse what cannot work, in one line naming the variable', () => {
    const cases: [Record<string, string>, string, string][] = [
      [
        { COMMIT_STATUS_PROVIDER: 'bitbucket', COMMIT_STATUS_TOKEN: 't' },
        'COMMIT_STATUS_PROVIDER',
        'github, gitea',
      ],
      [{ COMMIT_STATUS_PROVIDER: 'github' }, 'COMMIT_STATUS_TOKEN', 'is required'],
      [
        { COMMIT_STATUS_PROVIDER: 'github', COMMIT_STATUS_TOKEN: 't', COMMIT_STATUS_REPO: 'x' },
        'COMMIT_STATUS_REPO',
        'owner/repo',
      ],
      [
        { COMMIT_STATUS_PROVIDER: 'gitea', COMMIT_STATUS_TOKEN: 't', COMMIT_STATUS_API_URL: 'ftp://x' },
        'COMMIT_STATUS_API_URL',
        'http',
      ],
      [{ NOTIFY_WEBHOOK_URL: 'hooks.example.com/x' }, 'NOTIFY_WEBHOOK_URL', 'http'],
      [{ SLACK_WEBHOOK_URL: 'not a url' }, 'SLACK_WEBHOOK_URL', 'http'],
    ];
    for (const [env, variable, says] of cases)
      assert.throws(
        () => statusOf(env),
        (err: unknown) =>
          err instanceof ConfigError &&
          err.variable === variable &&
          err.message.includes(says) &&
          !err.message.includes('\n'),
        `${variable} refused`,
      );
  });

  it('never put a secret value in the error', () => {
    assert.throws(
      () => statusOf({ SLACK_WEBHOOK_URL: 'hooks.slack.com/services/SECRETPATH' }),
      (err: unknown) => err instanceof ConfigError && !err.message.includes('SECRETPATH'),
    );
  });

  it('a file:// repo needs COMMIT_STATUS_API_URL for gitea', () => {
    assert.equal(repoParts('file:///srv/config.git'), undefined);
    assert.throws(
      () =>
        loadConfig({
          CONFIG_REPO: 'file:///srv/config.git',
          ...base,
          COMMIT_STATUS_PROVIDER: 'gitea',
          COMMIT_STATUS_TOKEN: 't',
        }),
      /COMMIT_STATUS_API_URL: is required/,
    );
  });
});
