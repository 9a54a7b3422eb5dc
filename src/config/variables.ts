// Every environment variable git-sync-operator reads, in one table: loadConfig() takes its defaults
// from here, `<command> --help` prints its environment section from here, and a test keeps the
// README's configuration table equal to it. An env object is typed by these names, so reading a
// variable that is not in the table does not compile.

export type Group = 'operator' | 'aws' | 'kube' | 'host' | 'test';

export interface Variable {
  readonly name: string;
  /** What the value is (shown in --help as NAME=<type>). */
  readonly type: string;
  /** The default as a raw value, parsed like a set value (loadConfig uses it). */
  readonly value?: string;
  /** The default in words, when it is not a plain value (required, another variable, …). */
  readonly defaultText?: string;
  /** One paragraph; `code` in backquotes (README shows it as code, --help as plain text). */
  readonly doc: string;
  /** Registered with redact(): never printed or logged. */
  readonly secret?: boolean;
  /** Who reads it: the operator's Config, the AWS SDK, the Kubernetes client, git, a test. */
  readonly group: Group;
}

export const variables = [
  {
    name: 'CONFIG_REPO',
    type: 'url',
    defaultText: 'required',
    doc: 'git URL: `https://user:token@…`, `ssh://…`, `user@host:path`, `file://…`',
    group: 'operator',
  },
  {
    name: 'CONFIG_BRANCH',
    type: 'branch',
    defaultText: "the remote's default branch",
    doc: 'branch to follow',
    group: 'operator',
  },
  {
    name: 'MANAGED_NAMESPACES',
    type: 'list',
    defaultText: "the pod's own namespace",
    doc: 'comma list of namespaces',
    group: 'operator',
  },
  {
    name: 'POD_NAMESPACE',
    type: 'namespace',
    defaultText: "the service account's namespace file",
    doc: "the pod's namespace (downward API); the default of `MANAGED_NAMESPACES` and `LEASE_NAMESPACE`",
    group: 'operator',
  },
  {
    name: 'CLUSTER_NAME',
    type: 'name',
    defaultText: 'required',
    doc: "this cluster's folder in the repo",
    group: 'operator',
  },
  {
    name: 'S3_BUCKET',
    type: 'bucket',
    defaultText: '—',
    doc: 'bucket for completion files; unset = no S3 (logged once)',
    group: 'operator',
  },
  {
    name: 'GIT_SYNC_INTERVAL',
    type: 'seconds',
    value: '60',
    doc: 'seconds between polls (one `git ls-remote` each)',
    group: 'operator',
  },
  {
    name: 'DRIFT_WATCH',
    type: 'boolean',
    value: 'true',
    doc:
      'watch the applied objects (metadata only, by our label) and repair a hand edit as it happens; an ' +
      'idle poll is then one `ls-remote` and no apiserver request',
    group: 'operator',
  },
  {
    name: 'DRIFT_INTERVAL',
    type: 'seconds',
    defaultText: '—',
    doc:
      'seconds between full drift checks of a namespace that is healthy at the head commit. Unset: none ' +
      'where the watches hold, every poll where they cannot (a kind the operator may not watch, a watch ' +
      'down, or `DRIFT_WATCH=false`)',
    group: 'operator',
  },
  {
    name: 'ROLLOUT_TIMEOUT',
    type: 'seconds',
    value: '600',
    doc: 'seconds a rollout may take before it is failed',
    group: 'operator',
  },
  {
    name: 'GIT_SSH_KEY_FILE',
    type: 'path',
    defaultText: '—',
    doc: 'private key for ssh repos (host keys are always checked)',
    group: 'operator',
  },
  {
    name: 'GIT_SSH_KNOWN_HOSTS',
    type: 'path',
    defaultText: '`~/.ssh/known_hosts`',
    doc: 'known_hosts for ssh repos',
    group: 'operator',
  },
  {
    name: 'NAMESPACE_CONCURRENCY',
    type: 'count',
    value: '16',
    doc: 'namespaces read, planned and applied at once (a pass waiting for its rollout does not count; one waiting for its pre-phase Jobs does): bounds memory and the burst on the apiserver at a restart',
    group: 'operator',
  },
  {
    name: 'FORCE_CONFLICTS',
    type: 'boolean',
    value: 'false',
    doc: 'take over fields owned by another applier',
    group: 'operator',
  },
  {
    name: 'APPLY_CONCURRENCY',
    type: 'count',
    value: '32',
    doc:
      "objects dry-run and applied in parallel per namespace (32: the floor's best on a 2-core control " +
      'plane, see Performance)',
    group: 'operator',
  },
  {
    name: 'WEBHOOK_SECRET',
    type: 'text',
    defaultText: '—',
    doc: 'shared secret of the push webhook `POST /hooks/git`; unset = the webhook is off (404)',
    secret: true,
    group: 'operator',
  },
  {
    name: 'LISTEN_ADDRESS',
    type: 'host:port',
    value: '0.0.0.0:8080',
    doc: 'address of the status page `/` (JSON: `/api/v1/status`), `/healthz`, `/readyz`, `/metrics` and `/hooks/git`',
    group: 'operator',
  },
  {
    name: 'STATUS_PAGE_URL',
    type: 'url',
    defaultText: '—',
    doc: "the status page's address as people reach it (`/` of `LISTEN_ADDRESS` behind your ingress); commit statuses, webhooks and Slack link to it",
    group: 'operator',
  },
  {
    name: 'COMMIT_STATUS_PROVIDER',
    type: 'name',
    defaultText: '—',
    doc: '`github`, `gitea` (Forgejo too) or `gitlab`: set a commit status `git-sync-operator/<cluster>/<namespace>` on each config-repo commit; unset = none',
    group: 'operator',
  },
  {
    name: 'COMMIT_STATUS_TOKEN',
    type: 'text',
    defaultText: 'required with a provider',
    doc: 'token that may write commit statuses (GitHub: "Commit statuses: write"; Gitea: `write:repository`; GitLab: `api`); mount it from a Secret',
    secret: true,
    group: 'operator',
  },
  {
    name: 'COMMIT_STATUS_API_URL',
    type: 'url',
    defaultText: '`https://api.github.com` for `github`, else the origin of `CONFIG_REPO`',
    doc: 'API base: GitHub Enterprise `https://HOST/api/v3`; Gitea/GitLab `https://HOST`',
    group: 'operator',
  },
  {
    name: 'COMMIT_STATUS_REPO',
    type: 'owner/repo',
    defaultText: 'the path of `CONFIG_REPO`',
    doc: 'the repository (GitLab: project path) whose commits get the statuses',
    group: 'operator',
  },
  {
    name: 'NOTIFY_WEBHOOK_URL',
    type: 'url',
    defaultText: '—',
    doc: "POST every outcome as JSON (each Deployment's and each commit's state, once); unset = none",
    secret: true,
    group: 'operator',
  },
  {
    name: 'NOTIFY_WEBHOOK_SECRET',
    type: 'text',
    defaultText: '—',
    doc: "HMAC-SHA256 key of the webhook's `X-Signature: sha256=<hex>` over the body; unset = unsigned",
    secret: true,
    group: 'operator',
  },
  {
    name: 'SLACK_WEBHOOK_URL',
    type: 'url',
    defaultText: '—',
    doc: 'Slack incoming webhook: one message per commit deployed or failed in a namespace; unset = none',
    secret: true,
    group: 'operator',
  },
  {
    name: 'LEADER_ELECT',
    type: 'boolean',
    value: 'true',
    doc: 'hold the Lease `git-sync-operator` before writing, so replicas never apply at once',
    group: 'operator',
  },
  {
    name: 'SHARDS',
    type: 'count',
    value: '1',
    doc:
      'split the managed namespaces by a stable hash into this many shards, each worked by the one replica ' +
      'holding its Lease `git-sync-operator-shard-<n>`; above 1 these Leases replace the leader Lease ' +
      '(`install --replicas N` sets it to N)',
    group: 'operator',
  },
  {
    name: 'SHARD_REPLICAS',
    type: 'count',
    defaultText: '`SHARDS`',
    doc: 'replicas the Deployment runs: each aims to hold `SHARDS` / `SHARD_REPLICAS` shards (rounded up), and takes more only from a replica that died',
    group: 'operator',
  },
  {
    name: 'LEASE_NAMESPACE',
    type: 'namespace',
    defaultText: '`POD_NAMESPACE`, else the first managed namespace',
    doc: 'namespace of the leader Lease (and of the shard Leases)',
    group: 'operator',
  },
  {
    name: 'LEASE_DURATION',
    type: 'seconds',
    value: '15',
    doc: 'seconds a leader holds the Lease without renewing it',
    group: 'operator',
  },
  {
    name: 'LOG_LEVEL',
    type: 'level',
    value: 'info',
    doc: 'fatal, error, warn, info, debug, trace or silent',
    group: 'operator',
  },
  {
    name: 'GSO_WORK_DIR',
    type: 'path',
    value: '/tmp/git-sync-operator',
    doc: "the operator's git cache",
    group: 'operator',
  },
  {
    name: 'AWS_ACCESS_KEY_ID',
    type: 'text',
    defaultText: "SDK's",
    doc: "with `AWS_SECRET_ACCESS_KEY`: the S3 key; unset = the AWS SDK's standard chain (profile, web identity)",
    group: 'aws',
  },
  {
    name: 'AWS_SECRET_ACCESS_KEY',
    type: 'text',
    defaultText: "SDK's",
    doc: 'the secret of `AWS_ACCESS_KEY_ID`',
    secret: true,
    group: 'aws',
  },
  {
    name: 'AWS_SESSION_TOKEN',
    type: 'text',
    defaultText: '—',
    doc: 'session token of temporary credentials',
    secret: true,
    group: 'aws',
  },
  {
    name: 'AWS_REGION',
    type: 'region',
    defaultText: '`AWS_DEFAULT_REGION`, else `us-east-1`',
    doc: "the bucket's region",
    group: 'aws',
  },
  {
    name: 'AWS_DEFAULT_REGION',
    type: 'region',
    defaultText: '—',
    doc: 'the region when `AWS_REGION` is unset',
    group: 'aws',
  },
  {
    name: 'AWS_ENDPOINT_URL_S3',
    type: 'url',
    defaultText: '`AWS_ENDPOINT_URL`, else AWS',
    doc: 'a custom S3 endpoint (MinIO); it uses path-style addressing',
    group: 'aws',
  },
  {
    name: 'AWS_ENDPOINT_URL',
    type: 'url',
    defaultText: '—',
    doc: 'the endpoint of every AWS service, when `AWS_ENDPOINT_URL_S3` is unset',
    group: 'aws',
  },
  {
    name: 'KUBECONFIG',
    type: 'paths',
    defaultText: '`~/.kube/config`, else in-cluster',
    doc: 'as kubectl; in-cluster config in a pod',
    group: 'kube',
  },
  {
    name: 'KUBERNETES_SERVICE_HOST',
    type: 'host',
    defaultText: 'set in a pod',
    doc: 'the apiserver of the in-cluster config (with the mounted service-account token)',
    group: 'kube',
  },
  {
    name: 'KUBERNETES_SERVICE_PORT',
    type: 'port',
    value: '443',
    doc: 'its port',
    group: 'kube',
  },
  {
    name: 'PATH',
    type: 'paths',
    defaultText: "the system's",
    doc: 'where `git` and `ssh` are found; git gets only `PATH` and `HOME` of the environment',
    group: 'host',
  },
  {
    name: 'HOME',
    type: 'path',
    defaultText: "the user's",
    doc: "ssh's home (`~/.ssh`)",
    group: 'host',
  },
  {
    name: 'GSO_FAILPOINT',
    type: 'name[@namespace]',
    defaultText: '—',
    doc:
      'test knob: SIGKILL the process at that step of a reconcile (after-fetch, mid-apply, after-apply, ' +
      'after-health, after-s3, mid-prune); the fault suite sets it, never set it in production',
    group: 'test',
  },
] as const satisfies readonly Variable[];

export type VariableName = (typeof variables)[number]['name'];

/** An environment as git-sync-operator sees it: only the variables of the table can be read. */
export type Env = Readonly<Partial<Record<VariableName, string | undefined>>>;

const byName = new Map<string, Variable>(variables.map((v) => [v.name, v]));

export function variable(name: VariableName): Variable {
  return byName.get(name) as Variable;
}

/** The set value, trimmed; blank means unset. Falls back to the table's default value. */
export function read(env: Env, name: VariableName): string | undefined {
  const v = env[name]?.trim();
  return v ? v : variable(name).value;
}

export function groups(...gs: Group[]): VariableName[] {
  return variables.filter((v) => (gs as string[]).includes(v.group)).map((v) => v.name);
}

/** The default column of the README (markdown). */
export function defaultCell(v: Variable): string {
  if (v.defaultText !== undefined) return v.defaultText;
  if (v.value === undefined) return '—';
  return /^\d+(\.\d+)?$/.test(v.value) ? v.value : `\`${v.value}\``;
}

/** The README's configuration table, exactly. */
export function markdownTable(): string {
  const rows = variables.map((v) => `| \`${v.name}\` | ${v.doc} | ${defaultCell(v)} |`);
  return ['| variable | meaning | default |', '|---|---|---|', ...rows].join('\n');
}
