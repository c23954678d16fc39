import type { z } from 'zod';
import { inventoryEnv } from '../../apps/inventory/src/config';
import { notificationEnv } from '../../apps/notification/src/config';
import { orchestratorEnv } from '../../apps/orchestrator/src/config';
import { orderEnv } from '../../apps/order/src/config';

/** Every app's env schema, in the order the README lists them. */
export const APP_ENVS: Record<string, z.ZodRawShape> = { orchestrator: orchestratorEnv, order: orderEnv, inventory: inventoryEnv, notification: notificationEnv };

/** The default of a field, looking through refinements and transforms. */
function defaultOf(schema: z.ZodTypeAny): unknown {
  const def = schema._def as { typeName: string; defaultValue?: () => unknown; schema?: z.ZodTypeAny; innerType?: z.ZodTypeAny };
  if (def.typeName === 'ZodDefault') return def.defaultValue!();
  const inner = def.schema ?? def.innerType;
  return inner ? defaultOf(inner) : undefined;
}

/** Rows of the README's configuration table: variable, default, apps, meaning. */
export function envRows(): { name: string; default: string; apps: string[]; description: string }[] {
  const rows = new Map<string, { name: string; default: string; apps: string[]; description: string }>();
  for (const [app, shape] of Object.entries(APP_ENVS)) {
    for (const [name, schema] of Object.entries(shape)) {
      const fallback = defaultOf(schema as z.ZodTypeAny);
      const shown = fallback === undefined ? '—' : String(fallback).replace(/^\/.*\/var\/mail$/, '`var/mail` under the repo');
      const row = rows.get(name) ?? { name, default: shown, apps: [], description: (schema as z.ZodTypeAny).description ?? '' };
      if (row.default !== shown) row.default = `${row.default} / ${shown} (${app})`;
      row.apps.push(app);
      rows.set(name, row);
    }
  }
  return [...rows.values()];
}

/** `env-docs`: prints the configuration table in Markdown. */
export async function envDocsCommand(): Promise<void> {
  const lines = ['| variable | default | used by | meaning |', '|---|---|---|---|'];
  for (const r of envRows()) lines.push(`| \`${r.name}\` | ${r.default.includes('`') ? r.default : `\`${r.default}\``} | ${r.apps.length === 4 ? 'all' : r.apps.join(', ')} | ${r.description} |`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
