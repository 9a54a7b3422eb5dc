// Writes deploy/ from src/install/manifests.ts (one source; a unit test checks they agree).
import { writeFileSync } from 'node:fs';
import { deployFiles } from '../src/install/deploy-files.ts';

for (const [path, text] of Object.entries(deployFiles())) {
  writeFileSync(new URL(`../${path}`, import.meta.url), text);
  process.stdout.write(`wrote ${path}\n`);
}
