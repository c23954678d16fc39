import type { z } from 'zod';
import { inventoryEnv } from '../../apps/inventory/src/config';
import { notificationEnv } from '../../apps/notification/src/config';
import { orchestratorEnv } from '../../apps/orchestrator/src/config';
import { orderEnv } from '../../apps/order/src/config';

/** Every app's env schema, in the order the README lists them. */
export const APP_ENVS: Record<string, z.ZodRawShape> = {
  orchestrator: orchestratorEnv,
  order: orderEnv,
  inventory: inventoryEnv,
  notification: notificationEnv,
};

/** The default of a field, looking through refinements, transforms and preprocessing. */
function defaultOf(schema: z.ZodType): unknown {
  const def = schema._zod.def as { type: string; defaultValue?: unknown; in?: z.ZodType; out?: z.ZodType; innerType?: z.ZodType };
  if (def.type === 'default') return def.defaultValue;
  if (def.type === 'pipe') return defaultOf(def.in!) ?? defaultOf(def.out!);
  return def.innerType ? defaultOf(def.innerType) : undefined;
}

/** Rows of the README's configuration table: variable, default, apps, meaning. */
export function envRows(): { name: string; default: string; apps: string[]; description: string }[] {
  const rows = new Map<string, { name: string; default: string; apps: string[]; description: string }>();
  for (const [app, shape] of Object.entries(APP_ENVS)) {
    for (const [name, schema] of Object.entries(shape)) {
      const fallback = defaultOf(schema as z.ZodType);
      const shown = fallback === undefined ? '—' : String(fallback).replace(/^\/.*\/var\/mail$/, '`var/mail` under the repo');
      const row = rows.get(name) ?? { name, default: shown, apps: [], description: (schema as z.ZodType).description ?? '' };
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
  for (const r of envRows())
    lines.push(
      `| \`${r.name}\` | ${r.default.includes('`') ? r.default : `\`${r.default}\``} | ${r.apps.length === 4 ? 'all' : r.apps.join(', ')} | ${r.description} |`,
    );
  process.stdout.write(`${lines.join('\n')}\n`);
}
