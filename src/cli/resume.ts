// resume NS…: remove the suspend annotation; the next poll applies the head commit.
import type { Env } from '../config.ts';
import { type Options, parse } from './command.ts';
import { setSuspended } from './suspension.ts';

export { environment } from './suspension.ts';
export const name = 'resume';
export const summary = 'undo suspend: the next poll applies the head commit and repairs drift again';
export const positionals = 'NS…';
export const options = {} as const satisfies Options;

export async function run(args: string[], env: Env): Promise<number> {
  const { positionals: given } = parse({ name, options, positionals }, args, env);
  return setSuspended(name, given, env, false);
}
