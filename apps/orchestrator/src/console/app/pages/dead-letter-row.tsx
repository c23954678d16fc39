import { useState } from 'preact/hooks';
import { api } from '../api';
import { ReasonForm } from '../reason-form';
import type { DeadLetter } from '../types';
import { Badge, time, useApiCall } from '../ui';

/** The status the API reports, or what the timestamps say for a server that reports none. */
const statusOf = (d: DeadLetter) => d.status ?? (d.replayedAt ? 'replayed' : d.discardedAt ? 'discarded' : 'pending');

/** One dead letter as a table body: its summary row, and when expanded its payload, headers and actions. */
export function DeadLetterRow({ letter: d, onChanged }: { letter: DeadLetter; onChanged: () => void }) {
  const call = useApiCall();
  const [open, setOpen] = useState(false);
  const [discarding, setDiscarding] = useState(false);
  const [notice, setNotice] = useState('');
  const status = statusOf(d);
  const detailId = `dl-${d.id}`;
  const replay = async () => {
    const done = await call(() => api.post<{ replayed: boolean; alreadyReplayed: boolean }>(`/v1/admin/dead-letters/${d.id}/replay`));
    if (done) setNotice(done.replayed ? 'Replayed.' : 'It had been replayed already.');
    onChanged();
  };
  const discard = async (reason: string) => {
    const done = await call(() => api.post<{ discarded: boolean }>(`/v1/admin/dead-letters/${d.id}/discard`, { reason }));
    if (done) {
      setDiscarding(false);
      setNotice(done.discarded ? 'Discarded.' : 'It had been discarded already.');
    }
    onChanged();
  };
  return (
    <tbody data-testid="dead-letter-row" data-id={d.id} data-key={d.key ?? ''} data-message-id={d.messageId ?? ''}>
      <tr>
        <td>
          <button type="button" class="secondary" aria-expanded={open} aria-controls={detailId} onClick={() => setOpen(!open)} data-testid="dead-letter-toggle">
            {open ? 'Hide' : 'Inspect'}
          </button>
        </td>
        <td>{d.source}</td>
        <td>{d.origin}</td>
        <td class="mono">{d.key ?? '—'}</td>
        <td class="error">{d.error}</td>
        <td>{d.attempts}</td>
        <td>{time(d.lastFailedAt)}</td>
        <td data-testid="dead-letter-status">
          <Badge value={status} />
        </td>
      </tr>
      {open && (
        <tr id={detailId} class="expanded" data-testid="dead-letter-detail">
          <td colSpan={8}>
            <dl class="summary">
              <dt>Id</dt>
              <dd class="mono">{d.id}</dd>
              <dt>Message id</dt>
              <dd class="mono">{d.messageId ?? '—'}</dd>
              <dt>First failed</dt>
              <dd>{time(d.firstFailedAt)}</dd>
              <dt>Attempts</dt>
              <dd>{d.attempts}</dd>
              <dt>Error</dt>
              <dd>{d.error}</dd>
              {d.discardReason && (
                <>
                  <dt>Discarded because</dt>
                  <dd>{d.discardReason}</dd>
                </>
              )}
            </dl>
            <h3>Payload ({d.payloadEncoding})</h3>
            <pre data-testid="dead-letter-payload">{d.payloadEncoding === 'utf8' ? pretty(d.payload) : d.payload}</pre>
            <h3>Headers</h3>
            <pre data-testid="dead-letter-headers">{JSON.stringify(d.headers, null, 2)}</pre>
            <div class="actions">
              <button type="button" disabled={!d.replayable || status !== 'pending'} onClick={replay} data-testid="dead-letter-replay">
                Replay
              </button>
              <button type="button" class="danger" disabled={status !== 'pending'} onClick={() => setDiscarding(true)} data-testid="dead-letter-discard">
                Discard…
              </button>
              {notice && (
                <span role="status" class="notice" data-testid="dead-letter-notice">
                  {notice}
                </span>
              )}
            </div>
            {discarding && (
              <ReasonForm label="Why discard it?" submit="Discard" onSubmit={discard} onClose={() => setDiscarding(false)} testid="dead-letter-discard-form" />
            )}
          </td>
        </tr>
      )}
    </tbody>
  );
}

function pretty(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
