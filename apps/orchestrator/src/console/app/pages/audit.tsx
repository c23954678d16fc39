import { api, query } from '../api';
import type { AuditEntry, Page } from '../types';
import { Badge, Heading, Pager, time, useLoad, usePager } from '../ui';

/** Who did what through the admin API, newest first, a page at a time. */
export function AuditPage() {
  const pager = usePager();
  const [page, reload] = useLoad(() => api.get<Page<AuditEntry>>(`/v1/admin/audit${query({ limit: 50, cursor: pager.cursor })}`), [pager.cursor]);
  return (
    <section>
      <Heading>Audit</Heading>
      <div class="actions">
        <button type="button" class="secondary" onClick={reload} data-testid="audit-refresh">
          Refresh
        </button>
      </div>
      {page && (
        <>
          <table data-testid="audit-table">
            <caption class="visually-hidden">Audit log</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Outcome</th>
                <th scope="col">Status</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((a) => (
                <tr key={a.id} data-testid="audit-row" data-action={a.action}>
                  <td>{time(a.at)}</td>
                  <td>{a.actor}</td>
                  <td class="mono" data-testid="audit-action">
                    {a.action}
                  </td>
                  <td class="mono">{a.target}</td>
                  <td>
                    <Badge value={a.outcome} />
                  </td>
                  <td>{a.status}</td>
                  <td>{a.detail ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {page.items.length === 0 && <p>Nothing recorded yet.</p>}
          <Pager pager={pager} nextCursor={page.nextCursor} testid="audit-page" />
        </>
      )}
    </section>
  );
}
