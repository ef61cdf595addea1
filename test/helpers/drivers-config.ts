import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Writes a `FLIGHTDECK_CONFIG` file and returns its path. */
export function writeDriversConfig(content: string, name = 'flightdeck.yaml'): string {
  const path = join(mkdtempSync(join(tmpdir(), 'fd-config-')), name);
  writeFileSync(path, content);
  return path;
}
