// 6. scale: k namespaces × 200 objects in one sync.
import { type Bench, ours, type Result, round, scales } from '../setup.ts';

export const name = 'scale';

export async function run(b: Bench): Promise<Result[]> {
  const results: Result[] = [];
  for (const k of scales) {
    const list = Array.from({ length: k }, (_, i) => `scale${k}-${i}`).join(',');
    const { seconds: s } = await ours(b, ['sync', '--once', '--no-wait'], { namespaces: list });
    results.push({
      measure: `scale: ${k} namespaces × 200 objects`,
      value: round(s),
      unit: 's',
      note: `${round((s / (k * 200)) * 1000)} ms per object`,
    });
  }
  return results;
}
