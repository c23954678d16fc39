// Developer commands behind `make migrate`, `make token` and `make seed`, bundled to dist/tools/main.js.
// Each command's module is loaded only when it runs: `make token` need not load the database and
// broker clients the others use (half a second of start-up).
const commands: Record<string, (args: string[]) => Promise<void>> = {
  'env-docs': async () => (await import('./env-docs')).envDocsCommand(),
  migrate: async (args) => (await import('./migrate')).migrateCommand(args),
  seed: async (args) => (await import('./seed')).seedCommand(args),
  token: async (args) => (await import('./token')).tokenCommand(args),
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
