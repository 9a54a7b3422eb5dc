// The model: what git holds for each managed namespace, as a small state (per object a version
// number), and what that state means for the operator's contract (valid or not, which
// Deployments, schedulable or not, the objects the cluster must hold).
// Everything here is deterministic: fast-check generates the steps from a seed, the model follows
// them, and only the real world (world.ts) depends on timing.

/** A Deployment: its version picks the image; unschedulable adds a nodeSelector no kwok node has. */
export interface DepState {
  v: number;
  unsched: boolean;
}

/** How a folder was broken by the last commit that touched it (undefined: rendered from the state). */
export type Broken =
  | { kind: 'yaml'; file: number }
  | { kind: 'dryrun'; variant: DryRunVariant; dep: string }
  | { kind: 'empty'; how: EmptyHow };

export const emptyHows = ['comment', 'list', 'dashes', 'null', 'delete'] as const;
export type EmptyHow = (typeof emptyHows)[number];
export const dryRunVariants = ['replicas', 'label', 'port'] as const;
export type DryRunVariant = (typeof dryRunVariants)[number];

export interface NsState {
  /** api and web always, worker when added. */
  deps: Record<string, DepState>;
  /** ConfigMap `settings` data.VERSION. */
  cm: number;
  /** ConfigMap `extra` (a second document in svc.yaml) present. */
  extra: boolean;
  broken?: Broken | undefined;
}

export interface CommitModel {
  id: number;
  parent: number | undefined;
  /** Every namespace's state at this commit. */
  ns: NsState[];
  what: string;
}

export interface Model {
  /** The state at the branch head (what the next ordinary commit builds on). */
  ns: NsState[];
  /** Every commit ever pushed, by id (0 = the repo's first commit). */
  commits: CommitModel[];
  /** Commit ids of the branch, oldest first (a rewrite cuts it). */
  branch: number[];
  s3Down: 'pause' | 'stop' | undefined;
  /** Steps taken while S3 is down: capped, so the model always brings it back. */
  s3DownSteps: number;
  /** Apiserver restarts left: each costs up to a minute of blind controllers (see world.ts). */
  apiRestartsLeft: number;
  step: number;
}

export const coreDeps = ['api', 'web'] as const;
export const rolloutDeps = ['api', 'web', 'worker'] as const;

export function initialNs(): NsState {
  return { deps: { api: { v: 1, unsched: false }, web: { v: 1, unsched: false } }, cm: 1, extra: false };
}

export function initialModel(namespaces: number, apiRestarts: number): Model {
  const ns = Array.from({ length: namespaces }, initialNs);
  return {
    ns,
    commits: [{ id: 0, parent: undefined, ns: clone(ns), what: 'initial' }],
    branch: [0],
    s3Down: undefined,
    s3DownSteps: 0,
    apiRestartsLeft: apiRestarts,
    step: 0,
  };
}

export function clone<T>(x: T): T {
  return structuredClone(x);
}

/** The head commit's model. */
export function head(m: Model): CommitModel {
  return m.commits[m.branch[m.branch.length - 1] as number] as CommitModel;
}

// ---------------------------------------------------------------------------------------------
// Rendering: the files of one namespace folder. JSON is YAML; one object per file except svc.yaml.

const UNSCHED_SELECTOR = { 'gso-model.example/no-such-node': 'true' };

export const image = (dep: string, v: number) => `registry.example.invalid/${dep}:v${v}`;

function deployment(name: string, d: DepState, tweak?: DryRunVariant): Record<string, unknown> {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: tweak === 'label' ? { app: name, tier: '-not a valid label value-' } : labels },
    spec: {
      replicas: tweak === 'replicas' ? -1 : 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            { name: 'app', image: image(name, d.v), envFrom: [{ configMapRef: { name: 'settings' } }] },
          ],
          ...(d.unsched ? { nodeSelector: UNSCHED_SELECTOR } : {}),
        },
      },
    },
  };
}

const json = (o: unknown) => `${JSON.stringify(o, null, 2)}\n`;

/** The folder's files, as the state renders them when nothing is broken. */
export function renderValid(
  s: NsState,
  tweak?: { variant: DryRunVariant; dep: string },
): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [name, d] of Object.entries(s.deps)) {
    const t = tweak && tweak.variant !== 'port' && tweak.dep === name ? tweak.variant : undefined;
    files[`${name}.yaml`] = json(deployment(name, d, t));
  }
  files['config.yaml'] = json({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'settings' },
    data: { VERSION: String(s.cm) },
  });
  const svc = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web' },
    spec: {
      selector: { app: 'web' },
      ports: [{ port: tweak?.variant === 'port' ? 70000 : 80, targetPort: 8080 }],
    },
  };
  const extra = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'extra' }, data: { EXTRA: 'yes' } };
  // Two documents in one file when `extra` is on: multi-document files are part of the contract.
  files['svc.yaml'] = s.extra ? `${json(svc)}---\n${json(extra)}` : json(svc);
  return files;
}

const emptied: Record<Exclude<EmptyHow, 'delete'>, string> = {
  comment: '# emptied\n',
  list: 'apiVersion: v1\nkind: List\nitems: []\n',
  dashes: '---\n',
  null: 'null\n',
};

const BROKEN_YAML = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: broken\ndata: [unclosed\n';

/** The folder's files at this state (broken or not). */
export function render(s: NsState): Record<string, string> {
  const b = s.broken;
  if (!b) return renderValid(s);
  if (b.kind === 'dryrun') return renderValid(s, b);
  const files = renderValid(s);
  if (b.kind === 'empty') {
    const how = b.how;
    if (how === 'delete') return {};
    return Object.fromEntries(Object.keys(files).map((f) => [f, emptied[how]]));
  }
  // yaml: break one existing file, or (index past the end) add a broken one next to the others
  const names = Object.keys(files).sort();
  const target = names[b.file % (names.length + 1)] ?? 'broken.yaml';
  files[target] = BROKEN_YAML;
  return files;
}

// ---------------------------------------------------------------------------------------------
// Meaning: what the contract expects of the operator at a commit, per namespace.

export type SetStatus = 'valid' | 'invalid' | 'dryrun';

export interface ExpectedObject {
  kind: 'Deployment' | 'ConfigMap' | 'Service';
  name: string;
  image?: string;
  unsched?: boolean;
  data?: Record<string, string>;
  port?: number;
}

export interface NsMeaning {
  status: SetStatus;
  /** Deployments of files that parse on their own: spec fingerprint and schedulability. */
  deployments: Record<string, { fp: string; schedulable: boolean }>;
  /** The objects the cluster holds once this set is applied (valid sets only). */
  objects: ExpectedObject[];
  why: string;
}

export function meaning(s: NsState): NsMeaning {
  const deps = (names: string[]) =>
    Object.fromEntries(
      names.map((n) => {
        const d = s.deps[n] as DepState;
        return [n, { fp: JSON.stringify(d), schedulable: !d.unsched }];
      }),
    );
  const b = s.broken;
  if (b?.kind === 'empty')
    return { status: 'invalid', deployments: {}, objects: [], why: `emptied (${b.how})` };
  if (b?.kind === 'yaml') {
    const files = render(s);
    const parseable = Object.keys(s.deps).filter((n) => files[`${n}.yaml`] !== BROKEN_YAML);
    return { status: 'invalid', deployments: deps(parseable), objects: [], why: 'broken YAML' };
  }
  const all = deps(Object.keys(s.deps));
  if (b?.kind === 'dryrun') {
    return { status: 'dryrun', deployments: all, objects: [], why: `dry-run rejects (${b.variant})` };
  }
  const objects: ExpectedObject[] = Object.entries(s.deps).map(([name, d]) => ({
    kind: 'Deployment',
    name,
    image: image(name, d.v),
    unsched: d.unsched,
  }));
  objects.push({ kind: 'ConfigMap', name: 'settings', data: { VERSION: String(s.cm) } });
  if (s.extra) objects.push({ kind: 'ConfigMap', name: 'extra', data: { EXTRA: 'yes' } });
  objects.push({ kind: 'Service', name: 'web', port: 80 });
  return { status: 'valid', deployments: all, objects, why: 'valid' };
}

/** Repo changes that turn `from` (a commit's folders) into `to`: full files, deletions as null. */
export function folderChanges(
  folders: string[],
  from: NsState[] | undefined,
  to: NsState[],
): Record<string, string | null> {
  const changes: Record<string, string | null> = {};
  folders.forEach((folder, i) => {
    const before = from?.[i] ? render(from[i] as NsState) : {};
    const after = render(to[i] as NsState);
    for (const f of Object.keys(before)) if (!(f in after)) changes[`${folder}/${f}`] = null;
    for (const [f, text] of Object.entries(after)) if (before[f] !== text) changes[`${folder}/${f}`] = text;
  });
  return changes;
}
