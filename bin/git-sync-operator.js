#!/usr/bin/env node
// Entry point: the TypeScript source in a checkout (through tsx), the compiled dist/ in the image
// (which ships no src/). A stale dist/ in a checkout is never used.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import(new URL('../dist/cli.js', import.meta.url).href);
}
