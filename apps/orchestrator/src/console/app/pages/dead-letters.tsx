import { useState } from 'preact/hooks';
import { api, query } from '../api';
import type { DeadLetter, Page } from '../types';
import { Field, Heading, isoFromLocal, Pager, useApiCall, useFilterForm, useLoad, usePager } from '../ui';
import { DeadLetterRow } from './dead-letter-row';

const EMPTY = { source: '', topic: '', status: '', from: '', to: '' };
type Filters = typeof EMPTY;
const apiFilters = (f: Filters) => ({ ...f, from: isoFromLocal(f.from), to: isoFromLocal(f.to) });

/** Dead letters by source, topic, status and time; inspect, replay or discard one, or replay every match. */
export function DeadLettersPage() {
  const call = useApiCall();
  const [confirming, setConfirming] = useState(false);
  const [bulk, setBulk] = useState('');
  const pager = usePager();
  const { form, filters, set, apply: search } = useFilterForm(EMPTY, pager, () => setBulk(''));
  const [page, reload] = useLoad(
    () => api.get<Page<DeadLetter>>(`/v1/admin/dead-letters${query({ ...apiFilters(filters), limit: 25, cursor: pager.cursor })}`),
    [filters, pager.cursor],
  );
  const replayAll = async () => {
    setConfirming(false);
    const { source, topic, from, to } = apiFilters(filters);
    const body = Object.fromEntries(Object.entries({ source, topic, from, to }).filter(([, v]) => v));
    const done = await call(() => api.post<{ matched: number; replayed: number; skipped: number; more?: boolean }>('/v1/admin/dead-letters/replay', body));
    // `more`: the server replays a bounded number of letters per call; the rest wait for the next one.
    if (done) setBulk(`Replayed ${done.replayed} of ${done.matched} matching (${done.skipped} skipped).${done.more ? ' More remain: replay all again.' : ''}`);
    reload();
  };
  return (
    <section>
      <Heading>Dead letters</Heading>
      <form class="filters" onSubmit={search} data-testid="dead-letter-search">
        <Field label="Source">
          {(id) => (
            <select id={id} value={form.source} onChange={set('source')} data-testid="dead-letter-filter-source">
              <option value="">any</option>
              <option value="kafka">kafka</option>
              <option value="rabbitmq">rabbitmq</option>
              <option value="saga">saga</option>
            </select>
          )}
        </Field>
        <Field label="Topic or queue">{(id) => <input id={id} value={form.topic} onInput={set('topic')} data-testid="dead-letter-filter-topic" />}</Field>
        <Field label="Status">
          {(id) => (
            <select id={id} value={form.status} onChange={set('status')} data-testid="dead-letter-filter-status">
              <option value="">any</option>
              <option value="pending">pending</option>
              <option value="replayed">replayed</option>
              <option value="discarded">discarded</option>
            </select>
          )}
        </Field>
        <Field label="Failed from">
          {(id) => <input id={id} type="datetime-local" value={form.from} onInput={set('from')} data-testid="dead-letter-filter-from" />}
        </Field>
        <Field label="Failed to">
          {(id) => <input id={id} type="datetime-local" value={form.to} onInput={set('to')} data-testid="dead-letter-filter-to" />}
        </Field>
        <button type="submit" data-testid="dead-letter-search-submit">
          Search
        </button>
      </form>
      <div class="actions">
        {confirming ? (
          <div class="confirm" role="group" aria-label="Confirm replaying all" data-testid="replay-all-confirm">
            <span>Replay every pending letter matching the search above?</span>
            <button type="button" class="danger" onClick={replayAll} data-testid="replay-all-yes" autoFocus>
              Replay all
            </button>
            <button type="button" class="secondary" onClick={() => setConfirming(false)}>
              Keep them
            </button>
          </div>
        ) : (
          <button type="button" onClick={() => setConfirming(true)} data-testid="replay-all">
            Replay all matching…
          </button>
        )}
        {bulk && (
          <p role="status" class="notice" data-testid="replay-all-result">
            {bulk}
          </p>
        )}
      </div>
      {page && (
        <>
          <table data-testid="dead-letter-table">
            <caption class="visually-hidden">Dead letters matching the search</caption>
            <thead>
              <tr>
                <th scope="col">Details</th>
                <th scope="col">Source</th>
                <th scope="col">Topic or queue</th>
                <th scope="col">Key</th>
                <th scope="col">Error</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last failed</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            {page.items.map((d) => (
              <DeadLetterRow key={d.id} letter={d} onChanged={reload} />
            ))}
          </table>
          {page.items.length === 0 && <p data-testid="dead-letter-empty">No dead letter matches.</p>}
          <Pager pager={pager} nextCursor={page.nextCursor} testid="dead-letter-page" />
        </>
      )}
    </section>
  );
}
