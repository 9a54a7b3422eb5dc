// The notification settings beyond S3: commit statuses, the generic webhook, Slack, and the status
// page's public URL they link to. Each problem is one ConfigError naming its variable.
import { ConfigError, type Getter } from './errors.ts';

/** The git hosts whose commit-status API is spoken (Forgejo is Gitea's). */
export type Provider = 'github' | 'gitea' | 'gitlab';

export interface NotifyConfig {
  /** Public URL of the status page (links); undefined = no links. */
  pageUrl: string | undefined;
  commitStatus: { provider: Provider; apiUrl: string; repo: string; token: string } | undefined;
  webhook: { url: string; secret: string | undefined } | undefined;
  slack: { url: string } | undefined;
}

const providers: Record<string, Provider> = {
  github: 'github',
  gitea: 'gitea',
  forgejo: 'gitea',
  gitlab: 'gitlab',
};

export function notifyConfig(get: Getter, configRepo: string): NotifyConfig {
  const webhook = httpUrl(get, 'NOTIFY_WEBHOOK_URL');
  const slack = httpUrl(get, 'SLACK_WEBHOOK_URL');
  return {
    pageUrl: httpUrl(get, 'STATUS_PAGE_URL')?.replace(/\/+$/, ''),
    commitStatus: commitStatus(get, configRepo),
    webhook: webhook ? { url: webhook, secret: get('NOTIFY_WEBHOOK_SECRET') } : undefined,
    slack: slack ? { url: slack } : undefined,
  };
}

function commitStatus(get: Getter, configRepo: string): NotifyConfig['commitStatus'] {
  const name = get('COMMIT_STATUS_PROVIDER');
  if (!name) return undefined;
  const provider = providers[name.toLowerCase()];
  if (!provider)
    throw new ConfigError('COMMIT_STATUS_PROVIDER', `"${name}" must be github, gitea, forgejo or gitlab`);
  const token = get('COMMIT_STATUS_TOKEN');
  if (!token)
    throw new ConfigError(
      'COMMIT_STATUS_TOKEN',
      'is required with COMMIT_STATUS_PROVIDER (a token that may write commit statuses)',
    );
  const where = repoParts(configRepo);
  const apiUrl =
    httpUrl(get, 'COMMIT_STATUS_API_URL') ??
    (provider === 'github' ? 'https://api.github.com' : where?.origin);
  if (!apiUrl)
    throw new ConfigError(
      'COMMIT_STATUS_API_URL',
      `is required: the API base cannot be told from CONFIG_REPO`,
    );
  const repo =
    get('COMMIT_STATUS_REPO') ?? (where && (provider === 'gitlab' ? where.path : lastTwo(where.path)));
  if (!repo || !/^[\w.-]+(\/[\w.-]+)+$/.test(repo))
    throw new ConfigError(
      'COMMIT_STATUS_REPO',
      `${repo ? `"${repo}" ` : ''}must be owner/repo (the config repo on the git host)`,
    );
  return { provider, apiUrl: apiUrl.replace(/\/+$/, ''), repo, token };
}

/** The web origin and repository path of a git URL (https://, ssh://, user@host:path); undefined for file://. */
export function repoParts(url: string): { origin: string; path: string } | undefined {
  const scp = /^[\w.-]+@([\w.-]+):(?!\/\/)(.+)$/.exec(url);
  if (scp) return { origin: `https://${scp[1]}`, path: clean(scp[2] as string) };
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if (u.protocol === 'file:') return undefined;
  const origin = u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : `https://${u.hostname}`;
  return { origin, path: clean(u.pathname) };
}

const clean = (p: string) =>
  p
    .replace(/^\/+/, '')
    .replace(/\.git\/?$/, '')
    .replace(/\/+$/, '');
const lastTwo = (p: string) => p.split('/').slice(-2).join('/');

function httpUrl(get: Getter, name: Parameters<Getter>[0]): string | undefined {
  const v = get(name);
  if (v === undefined) return undefined;
  if (!/^https?:\/\/[^\s]+$/.test(v)) throw new ConfigError(name, 'must be an http:// or https:// URL');
  return v;
}
