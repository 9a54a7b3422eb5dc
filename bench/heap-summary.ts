// What a V8 heap snapshot (`node --heapsnapshot-signal`) holds: self size summed by constructor
// (objects) or by kind (strings, code, arrays…), so a bench can say what an RSS figure is made of.
// `node --import tsx bench/heap-summary.ts FILE.heapsnapshot [TOP]` prints the table.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** The parts of V8's .heapsnapshot JSON read here. */
export interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export interface HeapShare {
  name: string;
  bytes: number;
  count: number;
}

export interface HeapSummary {
  totalBytes: number;
  top: HeapShare[];
}

/** Self size by constructor (`object` nodes) or by node type (the rest), largest first. */
export function summariseHeap(s: HeapSnapshot, top = 15): HeapSummary {
  const fields = s.snapshot.meta.node_fields;
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [
    number,
    number,
    number,
  ];
  const types = s.snapshot.meta.node_types[0];
  const by = new Map<string, { bytes: number; count: number }>();
  let total = 0;
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + typeAt] as number] ?? '?';
    const size = s.nodes[i + sizeAt] as number;
    const name = type === 'object' ? (s.strings[s.nodes[i + nameAt] as number] ?? '?') : `(${type})`;
    const e = by.get(name) ?? { bytes: 0, count: 0 };
    e.bytes += size;
    e.count += 1;
    by.set(name, e);
    total += size;
  }
  const shares = [...by].map(([name, e]) => ({ name, ...e })).sort((a, b) => b.bytes - a.bytes);
  return { totalBytes: total, top: shares.slice(0, top) };
}

export function formatHeap(h: HeapSummary): string {
  const mib = (b: number) => (b / 1048576).toFixed(1);
  return [
    `heap snapshot: ${mib(h.totalBytes)} MiB in objects; largest by self size:`,
    ...h.top.map((e) => `  ${mib(e.bytes).padStart(7)} MiB ${String(e.count).padStart(9)}  ${e.name}`),
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error('usage: bench/heap-summary.ts FILE.heapsnapshot [TOP]');
    process.exit(2);
  }
  const s = JSON.parse(await readFile(file, 'utf8')) as HeapSnapshot;
  console.log(formatHeap(summariseHeap(s, Number(top) || 15)));
}
