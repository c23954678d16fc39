import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * The repository root (the folder holding nx.json), found from this file's location so paths like
 * `db/` and `var/mail` do not depend on the directory a process starts in. Falls back to the cwd
 * (e.g. in a container image that ships no nx.json).
 */
export function repoRoot(from: string = __dirname): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'nx.json'))) return dir;
    if (dirname(dir) === dir) return process.cwd();
  }
}
