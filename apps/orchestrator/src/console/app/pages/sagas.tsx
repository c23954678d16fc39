import { useState } from 'preact/hooks';
import { api, query } from '../api';
import { BASE, navigate } from '../router';
import { SAGA_STATES, type Page, type SagaSummary } from '../types';
import { Badge, Field, Heading, isoFromLocal, Pager, time, useFilterForm, useLoad, usePager } from '../ui';

const EMPTY = { state: '', step: '', customerId: '', from: '', to: '' };

/** Search sagas by state, step, customer and creation time; a page at a time. */
export function SagasPage() {
  const pager = usePager();
  const { form, filters, set, apply: search } = useFilterForm(EMPTY, pager);
  const [page] = useLoad(
    () =>
      api.get<Page<SagaSummary>>(
        `/v1/admin/sagas${query({ ...filters, from: isoFromLocal(filters.from), to: isoFromLocal(filters.to), limit: 25, cursor: pager.cursor })}`,
      ),
    [filters, pager.cursor],
  );
  // An alert or a customer names one order: open its saga straight away (ids are trimmed of pasted spaces).
  const [orderId, setOrderId] = useState('');
  const open = (event: Event) => {
    event.preventDefault();
    if (orderId.trim()) navigate(`/sagas/${encodeURIComponent(orderId.trim())}`);
  };
  return (
    <section>
      <Heading>Sagas</Heading>
      <form class="filters" onSubmit={open} data-testid="saga-open">
        <Field label="Order id">
          {(id) => (
            <input
              id={id}
              value={orderId}
              onInput={(e) => setOrderId(e.currentTarget.value)}
              placeholder="paste an order id"
              class="mono"
              data-testid="saga-open-id"
            />
          )}
        </Field>
        <button type="submit" class="secondary" data-testid="saga-open-submit">
          Open
        </button>
      </form>
      <form class="filters" onSubmit={search} data-testid="saga-search">
        <Field label="State">
          {(id) => (
            <select id={id} value={form.state} onChange={set('state')} data-testid="saga-filter-state">
              <option value="">any</option>
              {SAGA_STATES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Step">
          {(id) => <input id={id} value={form.step} onInput={set('step')} placeholder="RESERVE_STOCK" data-testid="saga-filter-step" />}
        </Field>
        <Field label="Customer id">{(id) => <input id={id} value={form.customerId} onInput={set('customerId')} data-testid="saga-filter-customer" />}</Field>
        <Field label="Created from">
          {(id) => <input id={id} type="datetime-local" value={form.from} onInput={set('from')} data-testid="saga-filter-from" />}
        </Field>
        <Field label="Created to">{(id) => <input id={id} type="datetime-local" value={form.to} onInput={set('to')} data-testid="saga-filter-to" />}</Field>
        <button type="submit" data-testid="saga-search-submit">
          Search
        </button>
      </form>
      {page && (
        <>
          <table data-testid="saga-table">
            <caption class="visually-hidden">Sagas matching the search</caption>
            <thead>
              <tr>
                <th scope="col">Order</th>
                <th scope="col">Customer</th>
                <th scope="col">State</th>
                <th scope="col">Step</th>
                <th scope="col">Attempts</th>
                <th scope="col">Outcome</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((s) => (
                <tr key={s.orderId} data-testid="saga-row">
                  <td>
                    <a href={`${BASE}/sagas/${s.orderId}`} class="mono" data-testid="saga-link">
                      {s.orderId}
                    </a>
                  </td>
                  <td>{s.customerId}</td>
                  <td>
                    <Badge value={s.state} />
                  </td>
                  <td>{s.currentStep}</td>
                  <td>{s.attempts}</td>
                  <td>{s.outcome ?? '—'}</td>
                  <td>{time(s.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {page.items.length === 0 && <p data-testid="saga-empty">No saga matches.</p>}
          <Pager pager={pager} nextCursor={page.nextCursor} testid="saga-page" />
        </>
      )}
    </section>
  );
}
