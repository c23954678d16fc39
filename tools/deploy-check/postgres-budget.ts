import { Problems } from './problems';

/** Connections Postgres keeps for superusers (superuser_reserved_connections' default): apps cannot use them. */
export const SUPERUSER_RESERVED = 3;
/** Postgres' own default when no `max_connections` is set. */
const DEFAULT_MAX_CONNECTIONS = 100;

/** What one workload may hold open on the Postgres server at its largest. */
export interface ConnectionUse {
  /** How the problem names it: `orchestrator (HPA max 8 × 23)`. */
  what: string;
  replicas: number;
  perReplica: number;
}

/** The `max_connections` a Postgres command line sets (`-c max_connections=300`), or Postgres' default. */
export function maxConnectionsOf(command: string[]): number {
  const setting = command.map((arg) => /(?:^|\s)max_connections=(\d+)/.exec(arg)?.[1]).find(Boolean);
  return setting ? Number(setting) : DEFAULT_MAX_CONNECTIONS;
}

/** Whether an image is Postgres (`postgres:15-alpine`, `docker.io/library/postgres`, …). */
export function isPostgresImage(image: unknown): boolean {
  return typeof image === 'string' && /(^|\/)postgres(:|@|$)/.test(image);
}

/**
 * Every replica the autoscalers may start, times the connections each holds (its pool plus its own
 * clients: LISTEN, health check), plus the superuser reserve, must fit in the server's
 * `max_connections`; past it, the next pool to grow fails to connect under exactly the load that
 * made the autoscaler add replicas.
 */
export function checkConnectionBudget(problems: Problems, where: string, maxConnections: number, uses: ConnectionUse[]): void {
  const total = uses.reduce((sum, u) => sum + u.replicas * u.perReplica, 0) + SUPERUSER_RESERVED;
  problems.check(
    total <= maxConnections,
    where,
    `Postgres max_connections ${maxConnections} is below what the apps may open at their largest: ${uses.map((u) => u.what).join(' + ')} + ${SUPERUSER_RESERVED} reserved = ${total}; lower the autoscalers' maxima or raise max_connections (or put PgBouncer in between)`,
  );
}
