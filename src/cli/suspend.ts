// suspend NS…: stop apply, prune and drift repair in these namespaces (the Version's annotation).
import type { Env } from '../config.ts';
import { type Options, parse } from './command.ts';
import { setSuspended } from './suspension.ts';

export { environment } from './suspension.ts';
export const name = 'suspend';
export const summary =
  'stop apply, prune and drift repair in these namespaces until resume (S3 files still go out)';
export const positionals = 'NS…';
export const options = {} as const satisfies Options;

export async function run(args: string[], env: Env): Promise<number> {
  const { positionals: given } = parse({ name, options, positionals }, args, env);
  return setSuspended(name, given, env, true);
}
