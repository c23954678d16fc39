import { parseArgs } from 'node:util';
import { commonEnv, databaseName, parseEnv } from '@orderflow/config';
import { migrate, SERVICES, type Service } from '@orderflow/db';

/** `migrate [--down] [--service name]`: creates each service database if missing and migrates it. */
export async function migrateCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { down: { type: 'boolean' }, service: { type: 'string', multiple: true } } });
  const { DATABASE_URL, RESOURCE_PREFIX } = parseEnv({ DATABASE_URL: commonEnv.DATABASE_URL, RESOURCE_PREFIX: commonEnv.RESOURCE_PREFIX });
  const services = (values.service ?? SERVICES) as Service[];
  for (const service of services) {
    if (!SERVICES.includes(service)) throw new Error(`unknown service "${service}" (known: ${SERVICES.join(', ')})`);
    const name = databaseName(service, RESOURCE_PREFIX);
    const applied = await migrate({ serverUrl: DATABASE_URL, service, databaseName: name, direction: values.down ? 'down' : 'up' });
    process.stdout.write(`migrate: ${name}: ${applied.length ? `${values.down ? 'reverted' : 'applied'} ${applied.join(', ')}` : 'up to date'}\n`);
  }
}
