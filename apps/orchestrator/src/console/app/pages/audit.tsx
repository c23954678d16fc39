import { api, query } from '../api';
import type { AuditEntry, Page } from '../types';
import { Badge, Field, Heading, Pager, time, useFilterForm, useLoad, usePager } from '../ui';

const EMPTY = { action: '', actor: '' };

/** Who did what through the admin API, newest first, a page at a time; narrowed to one action or one operator. */
export function AuditPage() {
  const pager = usePager();
  const { form, filters, set, apply: search } = useFilterForm(EMPTY, pager);
  const [page, reload] = useLoad(
    () => api.get<Page<AuditEntry>>(`/v1/admin/audit${query({ action: filters.action.trim(), actor: filters.actor.trim(), limit: 50, cursor: pager.cursor })}`),
    [filters, pager.cursor],
  );
  return (
    <section>
      <Heading>Audit</Heading>
      <form class="filters" onSubmit={search} data-testid="audit-search">
        <Field label="Action">
          {(id) => <input id={id} value={form.action} onInput={set('action')} placeholder="saga.cancel" class="mono" data-testid="audit-filter-action" />}
        </Field>
        <Field label="Operator (token sub)">{(id) => <input id={id} value={form.actor} onInput={set('actor')} data-testid="audit-filter-actor" />}</Field>
        <button type="submit" data-testid="audit-search-submit">
          Search
        </button>
        <button type="button" class="secondary" onClick={reload} data-testid="audit-refresh">
          Refresh
        </button>
      </form>
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
          {page.items.length === 0 && <p data-testid="audit-empty">Nothing recorded{filters.action || filters.actor ? ' that matches' : ' yet'}.</p>}
          <Pager pager={pager} nextCursor={page.nextCursor} testid="audit-page" />
        </>
      )}
    </section>
  );
}
