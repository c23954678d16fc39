import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from '@orderflow/config';
import { APP_NAMES, appReads, APPS, isAppCommand, opsPort, portNumber } from './apps';
import { Problems } from './problems';

/** One stage of a multi-stage Dockerfile: its base (an image or an earlier stage) and instructions. */
export interface Stage {
  name: string;
  base: string;
  instructions: { op: string; args: string }[];
}

/** Parses the instructions of a Dockerfile (line continuations joined, comments dropped). */
export function parseDockerfile(text: string): Stage[] {
  const logical = text
    .replace(/\\\r?\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, op = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    if (op.toUpperCase() === 'FROM') {
      const [base = '', , name] = args.replace(/--platform=\S+\s*/, '').split(/\s+/);
      stages.push({ name: name ?? String(stages.length), base, instructions: [] });
    } else stages.at(-1)?.instructions.push({ op: op.toUpperCase(), args });
  }
  return stages;
}

/** The stage and the stages it is built on, nearest first. */
function chain(stages: Stage[], name: string): Stage[] {
  const out: Stage[] = [];
  for (let stage = stages.find((s) => s.name === name); stage; stage = stages.find((s) => s.name === stage!.base)) out.push(stage);
  return out;
}

function last(stages: Stage[], op: string): string | undefined {
  for (const stage of stages) {
    const found = stage.instructions.filter((i) => i.op === op).at(-1);
    if (found) return found.args;
  }
  return undefined;
}

function execForm(args: string | undefined): string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(args ?? '');
    return Array.isArray(parsed) ? parsed.map(String) : undefined;
  } catch {
    return undefined;
  }
}

/** `.dockerignore` patterns as a predicate (last match wins; `!` re-includes). */
export function dockerIgnore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!');
      const glob = line.replace(/^!/, '').replace(/^\/|\/$/g, '');
      const source = glob
        .split('**/')
        .map((part) =>
          part
            .replace(/[.+^${}()|[\]]/g, '\\$&')
            .replace(/\*\*/g, '.*')
            .replace(/\*/g, '[^/]*')
            .replace(/\?/g, '[^/]'),
        )
        .join('(?:.*/)?');
      return { negate, regex: new RegExp(`^${source}(?:/.*)?$`) };
    });
  return (path) => rules.reduce((ignored, rule) => (rule.regex.test(path.replace(/\/$/, '')) ? !rule.negate : ignored), false);
}

function workspaceManifests(root: string): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces?: string[] };
  return (pkg.workspaces ?? []).flatMap((glob) => {
    const dir = glob.replace(/\/\*$/, '');
    return readdirSync(join(root, dir))
      .map((name) => `${dir}/${name}/package.json`)
      .filter((file) => existsSync(join(root, file)));
  });
}

export const PROCESS_TARGETS = [...APP_NAMES, 'tools'];

/**
 * What `node docker/healthcheck.cjs <path> [<VARIABLE>=]<default port>` checks, read as the script reads
 * its arguments: the variable (HTTP_PORT unless named) overrides the default port at run time.
 */
export function healthcheckTarget(command: string[]): { path: string; variable: string; port: number } | undefined {
  const at = command.indexOf('docker/healthcheck.cjs');
  if (at < 0) return undefined;
  const [path = '/healthz', target = '8080'] = command.slice(at + 1);
  const match = /^(?:([A-Z_][A-Z0-9_]*)=)?(\d+)$/.exec(target);
  return match ? { path, variable: match[1] ?? 'HTTP_PORT', port: Number(match[2]) } : undefined;
}

/** Whether a healthcheck command GETs `path` on the app's ops port (by its variable and its configured number). */
export function checksOpsPort(command: string[], path: string, ops: { variable: string; port: number }): boolean {
  const target = healthcheckTarget(command);
  return target?.path === path && target.variable === ops.variable && target.port === ops.port;
}

/** The Dockerfile builds every process as a target, with the command, ports and health check of its config. */
export function checkDockerfile(root: string, migrateCommand: string[], dockerfile = join(root, 'Dockerfile')): { problems: Problems; targets: Set<string> } {
  const problems = new Problems();
  const stages = parseDockerfile(readFileSync(dockerfile, 'utf8'));
  const targets = new Set(stages.map((s) => s.name));
  const ignored = dockerIgnore(existsSync(join(root, '.dockerignore')) ? readFileSync(join(root, '.dockerignore'), 'utf8') : '');
  for (const secret of ['.env', 'node_modules', 'dist']) problems.check(ignored(secret), '.dockerignore', `must exclude ${secret} from the build context`);

  const manifests = ['package.json', 'package-lock.json', ...workspaceManifests(root)];
  for (const stage of stages) {
    const where = `Dockerfile stage ${stage.name}`;
    const copied: string[] = [];
    for (const { op, args } of stage.instructions) {
      if ((op === 'COPY' || op === 'ADD') && !args.includes('--from=')) {
        const sources = args
          .split(/\s+/)
          .filter((a) => !a.startsWith('--'))
          .slice(0, -1);
        for (const source of sources) {
          copied.push(source.replace(/\/$/, ''));
          problems.check(existsSync(join(root, source)), where, `COPY ${source}: no such file in the repository`);
          problems.check(!ignored(source), where, `COPY ${source}: excluded by .dockerignore`);
        }
      }
      if (op === 'RUN' && /\bnpm ci\b/.test(args)) {
        const missing = manifests.filter((m) => !copied.some((c) => c === m || c === '.' || m.startsWith(`${c}/`)));
        problems.check(
          missing.length === 0,
          where,
          `npm ci runs before ${missing.join(', ')} is copied (npm ci needs every workspace manifest of the lock file)`,
        );
      }
    }
  }
  const runs = stages.flatMap((s) => s.instructions.filter((i) => i.op === 'RUN').map((i) => i.args));
  problems.check(
    runs.some((r) => r.includes('scripts/proto.sh')),
    'Dockerfile',
    'the build must generate the proto code (scripts/proto.sh)',
  );
  const build = runs.map((r) => /scripts\/build\.mjs([^&;|]*)/.exec(r)).find(Boolean);
  const built = build?.[1]!.trim().split(/\s+/).filter(Boolean) ?? [];
  problems.check(
    build !== undefined && PROCESS_TARGETS.every((t) => built.includes(t)),
    'Dockerfile',
    `the build must bundle ${PROCESS_TARGETS.join(' ')} (node scripts/build.mjs …)`,
  );

  for (const target of PROCESS_TARGETS) {
    const where = `Dockerfile target ${target}`;
    if (!problems.check(targets.has(target), 'Dockerfile', `no ${target} target`)) continue;
    const lineage = chain(stages, target);
    const allRuns = lineage.flatMap((s) => s.instructions.filter((i) => i.op === 'RUN').map((i) => i.args));
    problems.check(
      allRuns.some((r) => /\bnpm ci\b.*--omit=dev/.test(r)),
      where,
      'the runtime must install production dependencies only (npm ci --omit=dev)',
    );
    problems.check(
      lineage.some((s) => s.instructions.some((i) => i.op === 'COPY' && /^db\/?\s/.test(i.args))),
      where,
      'the image needs db/ (the migrations) next to dist/',
    );
    const user = last(lineage, 'USER');
    problems.check(
      user !== undefined && /^[1-9]\d*(:\d+)?$/.test(user),
      where,
      `USER ${user ?? '(root)'}: run as a non-root numeric user, so Kubernetes can verify runAsNonRoot`,
    );
    const cmd = execForm(last(lineage, 'CMD'));
    const healthcheck = last(lineage, 'HEALTHCHECK') ?? '';
    if (target === 'tools') {
      problems.check(cmd?.join(' ') === migrateCommand.join(' '), where, `CMD should be make migrate's command ${JSON.stringify(migrateCommand)}`);
      continue;
    }
    const app = APPS[target as keyof typeof APPS];
    problems.check(
      cmd !== undefined && isAppCommand(app.name, cmd),
      where,
      `CMD must be the exec form of node dist/${target}/main.js (so node is PID 1 and gets SIGTERM)`,
    );
    const env: Record<string, string> = {};
    for (const stage of [...lineage].reverse()) {
      for (const i of stage.instructions.filter((x) => x.op === 'ENV')) {
        const [, name = '', value = ''] = /^([A-Za-z_][A-Za-z0-9_]*)[= ](.*)$/.exec(i.args) ?? [];
        problems.check(name === 'NODE_ENV' || appReads(app.name, name), where, `ENV ${name} is not a variable ${target} reads`);
        env[name] = value;
      }
    }
    const defaults = parseEnv(app.env, env) as Record<string, unknown>;
    const exposed = lineage.flatMap((s) =>
      s.instructions.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.args.split(/\s+/).map((p) => Number(p.split('/')[0]))),
    );
    const ports = app.ports.map((p) => portNumber(defaults, p));
    problems.check(
      ports.every((p) => exposed.includes(p)) && exposed.every((p) => ports.includes(p)),
      where,
      `EXPOSE ${exposed.join(' ')} should be the app's ports ${ports.join(' ')}`,
    );
    const ops = { variable: opsPort(app.name).variable, port: portNumber(defaults, opsPort(app.name)) };
    const check = execForm(healthcheck.replace(/^.*?CMD\s+/, '')) ?? [];
    problems.check(
      checksOpsPort(check, '/healthz', ops),
      where,
      `HEALTHCHECK should GET /healthz on ${ops.variable} ${ops.port}, its ops port (exec form: node docker/healthcheck.cjs /healthz ${ops.variable}=${ops.port})`,
    );
  }
  return { problems, targets };
}
