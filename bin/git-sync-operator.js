#!/usr/bin/env node
// Entry point: the TypeScript source in a checkout (through tsx), the compiled dist/ in the image
// and in the npm package (which ship no src/). A stale dist/ in a checkout is never used.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/index.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import(new URL('../dist/cli/index.js', import.meta.url).href);
}
