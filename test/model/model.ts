// The model: what git holds for each managed namespace, as a small state (per object a version
// number), and what that state means for the operator's contract (valid or not, which
// Deployments, schedulable or not, the objects the cluster must hold).
// Everything here is deterministic: fast-check generates the steps from a seed, the model follows
// them, and only the real world (world.ts) depends on timing.

/**
 * A Deployment: its version picks the image; unschedulable adds a nodeSelector no kwok node has;
 * `track` is a label of its selector (immutable: a change is a recreate, every Deployment carries
 * the recreate annotation unless a `selector` break removes it).
 */
export interface DepState {
  v: number;
  unsched: boolean;
  track: number;
}

/** A phase Job (`migrate`: pre, `notify`: post): its version picks the image; `fails`: its pod exits 1. */
export interface JobState {
  v: number;
  fails: boolean;
}

/** How a folder was broken by the last commit that touched it (undefined: rendered from the state). */
export type Broken =
  | { kind: 'yaml'; file: number }
  | { kind: 'dryrun'; variant: DryRunVariant; dep: string }
  | { kind: 'empty'; how: EmptyHow }
  /** `dep`'s selector changed without the recreate annotation: the dry-run refuses it (immutable). */
  | { kind: 'selector'; dep: string; track: number };

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
  /** Job `migrate` (phase pre): applied and waited for before anything else of the set. */
  pre?: JobState | undefined;
  /** Job `notify` (phase post): applied once the rollout is healthy. */
  post?: JobState | undefined;
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
  /** Per namespace: suspended (the Version's annotation), and for how many steps (capped). */
  suspended: boolean[];
  suspendedSteps: number[];
  step: number;
}

export const coreDeps = ['api', 'web'] as const;
export const rolloutDeps = ['api', 'web', 'worker'] as const;

export function initialNs(): NsState {
  return {
    deps: { api: { v: 1, unsched: false, track: 0 }, web: { v: 1, unsched: false, track: 0 } },
    cm: 1,
    extra: false,
  };
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
    suspended: ns.map(() => false),
    suspendedSteps: ns.map(() => 0),
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
const PHASE = 'git-sync-operator.mozilla.org/phase';
const RECREATE = 'git-sync-operator.mozilla.org/recreate';
/** testbed/kwok-stages.ts failAnnotation: a pod carrying it fails with its value as the message. */
const FAIL = 'testbed-fail';

export const image = (dep: string, v: number) => `registry.example.invalid/${dep}:v${v}`;
export const jobNames = { pre: 'migrate', post: 'notify' } as const;
/** The termination message of a failing phase Job's pod (it must show in PrePhaseFailed). */
export const failMessage = (job: string, v: number) => `${job} v${v} failed on purpose`;

/** How a Deployment is rendered: a dry-run tweak, or a selector changed without the opt-in. */
type DepTweak = DryRunVariant | { track: number };

function deployment(name: string, d: DepState, tweak?: DepTweak): Record<string, unknown> {
  const refused = typeof tweak === 'object' ? tweak : undefined;
  const labels = { app: name, track: `v${refused?.track ?? d.track}` };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      labels: tweak === 'label' ? { ...labels, tier: '-not a valid label value-' } : labels,
      ...(refused ? {} : { annotations: { [RECREATE]: 'true' } }),
    },
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

/** A phase Job of one container; a failing one's pod exits 1 with failMessage (kwok stage). */
function job(phase: 'pre' | 'post', j: JobState): Record<string, unknown> {
  const name = jobNames[phase];
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, annotations: { [PHASE]: phase } },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { annotations: j.fails ? { [FAIL]: failMessage(name, j.v) } : {} },
        spec: { restartPolicy: 'Never', containers: [{ name, image: image(name, j.v) }] },
      },
    },
  };
}

const json = (o: unknown) => `${JSON.stringify(o, null, 2)}\n`;

/** The folder's files, as the state renders them when nothing is broken. */
export function renderValid(s: NsState, tweak?: Broken): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [name, d] of Object.entries(s.deps))
    files[`${name}.yaml`] = json(deployment(name, d, depTweak(name, tweak)));
  if (s.pre) files['migrate.yaml'] = json(job('pre', s.pre));
  if (s.post) files['notify.yaml'] = json(job('post', s.post));
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
      ports: [{ port: tweak?.kind === 'dryrun' && tweak.variant === 'port' ? 70000 : 80, targetPort: 8080 }],
    },
  };
  const extra = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'extra' }, data: { EXTRA: 'yes' } };
  // Two documents in one file when `extra` is on: multi-document files are part of the contract.
  files['svc.yaml'] = s.extra ? `${json(svc)}---\n${json(extra)}` : json(svc);
  return files;
}

/** The tweak of Deployment `name` in a dry-run-refused folder. */
function depTweak(name: string, b: Broken | undefined): DepTweak | undefined {
  if (b?.kind === 'selector' && b.dep === name) return { track: b.track };
  if (b?.kind === 'dryrun' && b.variant !== 'port' && b.dep === name) return b.variant;
  return undefined;
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
  if (b.kind === 'dryrun' || b.kind === 'selector') return renderValid(s, b);
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

/**
 * valid: applied and rolled out; invalid: the files fail (InvalidManifests); dryrun: the dry-run
 * refuses the set (DryRunRejected); prefail: the pre Job fails (PrePhaseFailed). Only a valid set
 * is ever applied; each other one fails every Deployment it names.
 */
export type SetStatus = 'valid' | 'invalid' | 'dryrun' | 'prefail';

export interface ExpectedObject {
  kind: 'Deployment' | 'ConfigMap' | 'Service' | 'Job';
  name: string;
  image?: string;
  unsched?: boolean;
  /** A Deployment's selector label `track`. */
  track?: string;
  data?: Record<string, string>;
  port?: number;
  /** A Job's phase and whether its pod fails. */
  phase?: 'pre' | 'post';
  fails?: boolean;
}

export interface NsMeaning {
  status: SetStatus;
  /** Deployments of files that parse on their own: spec fingerprint and schedulability. */
  deployments: Record<string, { fp: string; schedulable: boolean }>;
  /** The objects the cluster holds once this set is applied (valid sets only). */
  objects: ExpectedObject[];
  /** The pre Job's version and whether it fails (valid and prefail sets). */
  pre?: JobState | undefined;
  post?: JobState | undefined;
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
  if (b?.kind === 'selector') {
    const why = `dry-run rejects (${b.dep} selector, no recreate)`;
    return { status: 'dryrun', deployments: all, objects: [], why };
  }
  const jobs = { pre: s.pre, post: s.post };
  if (s.pre?.fails)
    return { status: 'prefail', deployments: all, objects: [], ...jobs, why: `pre Job fails (v${s.pre.v})` };
  return { status: 'valid', deployments: all, objects: validObjects(s), ...jobs, why: 'valid' };
}

/** The objects of a valid set. */
function validObjects(s: NsState): ExpectedObject[] {
  const objects: ExpectedObject[] = Object.entries(s.deps).map(([name, d]) => ({
    kind: 'Deployment',
    name,
    image: image(name, d.v),
    unsched: d.unsched,
    track: `v${d.track}`,
  }));
  objects.push({ kind: 'ConfigMap', name: 'settings', data: { VERSION: String(s.cm) } });
  if (s.extra) objects.push({ kind: 'ConfigMap', name: 'extra', data: { EXTRA: 'yes' } });
  objects.push({ kind: 'Service', name: 'web', port: 80 });
  for (const phase of ['pre', 'post'] as const) {
    const j = s[phase];
    const name = jobNames[phase];
    if (j) objects.push({ kind: 'Job', name, image: image(name, j.v), phase, fails: j.fails });
  }
  return objects;
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
