// YAML/JSON text → validated Kubernetes objects for one namespace.

import { LineCounter, parseAllDocuments } from 'yaml';
import { ManifestError } from './errors.ts';
import { limits } from './limits.ts';
import { clusterScopedKinds, type KubeObject } from './object.ts';
import { annotationProblem } from './phase.ts';

/** RFC 1123 subdomain, what most kinds require of metadata.name. */
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export interface ParsedObject {
  object: KubeObject;
  /** "path#document-index" for error messages. */
  source: string;
  line: number;
}

/** Parses one file; every problem becomes a ManifestError naming the file and line. */
export function parseFile(path: string, text: string, namespace: string): ParsedObject[] {
  // LineCounter: line of an offset by binary search (a scan per document was quadratic), and the
  // line of a syntax error itself (without prettyErrors, err.linePos is never set).
  const lines = new LineCounter();
  const lineOf = (offset: number): number => lines.linePos(offset).line;
  const docs = parseAllDocuments(text, {
    prettyErrors: false,
    uniqueKeys: true,
    strict: true,
    lineCounter: lines,
  });
  const list = Array.isArray(docs) ? docs : [docs];
  if (list.length > limits.documentsPerFile) {
    throw new ManifestError(
      path,
      `has ${list.length} documents; the limit is ${limits.documentsPerFile} per file`,
    );
  }
  const out: ParsedObject[] = [];
  for (const [i, doc] of list.entries()) {
    const line = lineOf(doc.range?.[0] ?? 0);
    const err = doc.errors[0];
    if (err) {
      throw new ManifestError(
        path,
        `invalid YAML in document ${i + 1}: ${err.message.split('\n')[0]}`,
        lineOf(err.pos[0]),
      );
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: limits.aliases });
    } catch (e) {
      throw new ManifestError(path, `document ${i + 1}: ${(e as Error).message.split('\n')[0]}`, line);
    }
    if (value === null || value === undefined) continue; // empty document (e.g. a trailing ---)
    const at: DocumentAt = { path, doc: i + 1, line };
    for (const object of expandList(value, at)) {
      validateObject(object, namespace, at);
      out.push({ object, source: `${path}#${i + 1}`, line });
    }
  }
  return out;
}

/** Where a document is, for its errors. */
interface DocumentAt {
  path: string;
  /** 1-based index in the file. */
  doc: number;
  line: number;
}

/** A `kind: List` document stands for its items, as kubectl treats it. */
function expandList(value: unknown, { path, doc, line }: DocumentAt): unknown[] {
  if (
    isObject(value) &&
    typeof value.kind === 'string' &&
    value.kind.endsWith('List') &&
    Array.isArray(value.items)
  ) {
    return value.items;
  }
  if (!isObject(value)) {
    throw new ManifestError(
      path,
      `document ${doc} is ${Array.isArray(value) ? 'a list' : `a ${typeof value}`}, not an object`,
      line,
    );
  }
  return [value];
}

function validateObject(
  value: unknown,
  namespace: string,
  { path, doc, line }: DocumentAt,
): asserts value is KubeObject {
  const fail = (problem: string): never => {
    throw new ManifestError(path, `document ${doc}: ${problem}`, line);
  };
  if (!isObject(value)) return fail('is not an object');
  if (typeof value.apiVersion !== 'string' || !value.apiVersion) fail('apiVersion is missing');
  if (typeof value.kind !== 'string' || !value.kind) fail('kind is missing');
  const meta = value.metadata;
  if (!isObject(meta)) return fail(`${value.kind} has no metadata`);
  const name = meta.name;
  if (typeof name !== 'string' || !name) return fail(`${value.kind} has no metadata.name`);
  if (name.length > 253 || !dnsSubdomain.test(name))
    fail(`${value.kind} name "${name}" is not a valid Kubernetes name`);
  const problem = metadataProblem(value.kind as string, name, meta, namespace);
  if (problem) fail(problem);
  if (clusterScopedKinds.has(value.kind as string)) {
    fail(
      `${value.kind}/${name} is cluster-scoped; only namespaced objects can be applied from a namespace folder`,
    );
  }
}

/** generateName, another namespace, or a bad value of one of our annotations. */
function metadataProblem(
  kind: string,
  name: string,
  meta: Record<string, unknown>,
  namespace: string,
): string | undefined {
  if (meta.generateName !== undefined) return `${kind}/${name}: generateName cannot be applied declaratively`;
  if (meta.namespace !== undefined && meta.namespace !== namespace)
    return `${kind}/${name} is for namespace "${String(meta.namespace)}"; this folder applies only to "${namespace}"`;
  const problem = annotationProblem(kind, meta.annotations);
  return problem ? `${kind}/${name}: ${problem}` : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
