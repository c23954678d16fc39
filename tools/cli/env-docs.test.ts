import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@orderflow/config';
import { envRows } from './env-docs';

describe('the README configuration table', () => {
  it('lists every variable any app reads', () => {
    const readme = readFileSync(join(repoRoot(), 'README.md'), 'utf8');
    const missing = envRows()
      .filter((row) => !readme.includes(`| \`${row.name}\` |`))
      .map((row) => row.name);
    expect(missing).toEqual([]);
  });
});
