import { api } from '../api';
import type { Stats } from '../types';
import { Heading, useLoad } from '../ui';
import { ThroughputChart } from './throughput-chart';

const REFRESH_MS = 5_000;

function Tile({ label, value, testid, warn }: { label: string; value: string | number; testid: string; warn?: boolean }) {
  return (
    <div class={warn ? 'tile warn' : 'tile'} data-testid={testid}>
      <span class="tile-label">{label}</span>
      <span class="tile-value">{value}</span>
    </div>
  );
}

/** Orders by status, sagas in flight, throughput, dead letters, outbox lag and dependencies; refreshed every 5 s. */
export function OverviewPage() {
  const [stats] = useLoad(() => api.get<Stats>('/v1/admin/stats'), [], REFRESH_MS);
  return (
    <section data-testid="overview">
      <Heading>Overview</Heading>
      {!stats ? (
        <p aria-busy="true">Loading…</p>
      ) : (
        <>
          <h2>Orders</h2>
          <div class="tiles" data-testid="orders-by-status">
            {Object.entries(stats.ordersByStatus).map(([status, n]) => (
              <Tile key={status} label={status} value={n} testid={`orders-${status}`} />
            ))}
            <Tile label="Sagas in flight" value={stats.sagasInFlight} testid="sagas-in-flight" />
          </div>
          <h2>Completions and failures per minute</h2>
          <ThroughputChart data={stats.throughput ?? []} />
          <h2>Backlogs</h2>
          <div class="tiles">
            <Tile label="Dead letters" value={stats.deadLetters.total} testid="dead-letter-depth" warn={stats.deadLetters.total > 0} />
            {Object.entries(stats.deadLetters.bySource).map(([source, n]) => (
              <Tile key={source} label={`… from ${source}`} value={n} testid={`dead-letters-${source}`} />
            ))}
            <Tile label="Outbox unpublished" value={stats.outbox.unpublished} testid="outbox-backlog" warn={stats.outbox.unpublished > 0} />
            <Tile
              label="Oldest unpublished"
              value={stats.outbox.oldestAgeSeconds == null ? '—' : `${Math.round(stats.outbox.oldestAgeSeconds)} s`}
              testid="outbox-age"
            />
          </div>
          <h2>Dependencies</h2>
          {stats.dependencies?.length ? (
            <ul class="dependencies" data-testid="dependencies">
              {stats.dependencies.map((d) => (
                <li key={d.name} data-testid={`dependency-${d.name}`}>
                  <span class={`badge badge-${d.status}`}>{d.status}</span> {d.name}
                </li>
              ))}
            </ul>
          ) : (
            <p data-testid="dependencies">Not reported by this server.</p>
          )}
        </>
      )}
    </section>
  );
}
