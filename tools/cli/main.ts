// Developer commands behind `make migrate`, `make token` and `make seed`, bundled to dist/tools/main.js.
import { envDocsCommand } from './env-docs';
import { migrateCommand } from './migrate';
import { seedCommand } from './seed';
import { tokenCommand } from './token';

const commands: Record<string, (args: string[]) => Promise<void>> = {
  'env-docs': envDocsCommand,
  migrate: migrateCommand,
  seed: seedCommand,
  token: tokenCommand,
};

const [name, ...args] = process.argv.slice(2);
const command = name ? commands[name] : undefined;
if (!command) {
  process.stderr.write(`usage: tools <${Object.keys(commands).join('|')}> [options]\n`);
  process.exit(2);
}
command(args).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
