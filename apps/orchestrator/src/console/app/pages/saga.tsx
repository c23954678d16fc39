import { useState } from 'preact/hooks';
import { api } from '../api';
import type { SagaDetail, SagaSummary } from '../types';
import { Badge, Heading, money, time, useApiCall, useLoad } from '../ui';
import { ReasonForm } from '../reason-form';

/** One saga: where it stands, its timeline, the messages it wrote, its dead letters; Retry and Cancel. */
export function SagaPage({ orderId }: { orderId: string }) {
  const call = useApiCall();
  const [saga, reload] = useLoad(() => api.get<SagaDetail>(`/v1/admin/sagas/${encodeURIComponent(orderId)}`), [orderId]);
  const [cancelling, setCancelling] = useState(false);
  const [notice, setNotice] = useState('');
  const retry = async () => {
    const done = await call(() => api.post<SagaSummary>(`/v1/admin/sagas/${encodeURIComponent(orderId)}/retry`));
    if (done) setNotice(`Retry scheduled: the saga is ${done.state} at ${done.currentStep}.`);
    reload();
  };
  const cancel = async (reason: string) => {
    const done = await call(() => api.post<SagaSummary>(`/v1/admin/sagas/${encodeURIComponent(orderId)}/cancel`, { reason }));
    if (done) {
      setCancelling(false);
      setNotice(`Cancellation requested: the saga is ${done.state}.`);
    }
    reload();
  };
  return (
    <section data-testid="saga-page">
      <Heading>
        Saga <span class="mono">{orderId}</span>
      </Heading>
      {notice && (
        <p role="status" class="notice" data-testid="saga-notice">
          {notice}
        </p>
      )}
      {saga && (
        <>
          <dl class="summary" data-testid="saga-summary">
            <dt>State</dt>
            <dd data-testid="saga-state">
              <Badge value={saga.state} />
            </dd>
            <dt>Step</dt>
            <dd data-testid="saga-step">{saga.currentStep}</dd>
            <dt>Outcome</dt>
            <dd data-testid="saga-outcome">{saga.outcome ?? '—'}</dd>
            <dt>Customer</dt>
            <dd>{saga.customerId ?? '—'}</dd>
            <dt>Attempts</dt>
            <dd>{saga.attempts}</dd>
            {saga.totalCents !== undefined && (
              <>
                <dt>Total</dt>
                <dd>{money(saga.totalCents)}</dd>
              </>
            )}
            <dt>Cancel requested</dt>
            <dd>{saga.cancelRequested ? 'yes' : 'no'}</dd>
            <dt>Next attempt</dt>
            <dd>{time(saga.nextAttemptAt)}</dd>
            <dt>Last error</dt>
            <dd>{saga.lastError ?? '—'}</dd>
            <dt>Created</dt>
            <dd>{time(saga.createdAt)}</dd>
            <dt>Updated</dt>
            <dd>{time(saga.updatedAt)}</dd>
          </dl>
          <div class="actions">
            <button type="button" onClick={retry} data-testid="saga-retry">
              Retry now
            </button>
            <button type="button" class="danger" onClick={() => setCancelling(true)} aria-expanded={cancelling} data-testid="saga-cancel">
              Cancel order…
            </button>
          </div>
          {cancelling && (
            <ReasonForm
              label="Why cancel this order?"
              submit="Cancel the order"
              onSubmit={cancel}
              onClose={() => setCancelling(false)}
              testid="saga-cancel-form"
            />
          )}
          {saga.items && saga.items.length > 0 && (
            <>
              <h2>Items</h2>
              <ul>
                {saga.items.map((i) => (
                  <li key={i.sku}>
                    {i.quantity} × {i.sku} at {money(i.unitPriceCents)}
                  </li>
                ))}
              </ul>
            </>
          )}
          <h2>Timeline</h2>
          <ol class="timeline" data-testid="saga-timeline">
            {saga.steps.map((s, i) => (
              <li key={i} data-testid="saga-timeline-step">
                <span class="step-name">{s.step}</span> <Badge value={s.outcome} /> <span class="muted">attempt {s.attempt}</span>{' '}
                <time dateTime={s.at}>{time(s.at)}</time>
                {s.detail && <div class="detail">{s.detail}</div>}
              </li>
            ))}
          </ol>
          <SagaMessages saga={saga} />
        </>
      )}
    </section>
  );
}

function SagaMessages({ saga }: { saga: SagaDetail }) {
  return (
    <>
      <h2>Messages</h2>
      {saga.messages?.length ? (
        <table data-testid="saga-messages">
          <thead>
            <tr>
              <th scope="col">Type</th>
              <th scope="col">Destination</th>
              <th scope="col">Message id</th>
              <th scope="col">Created</th>
              <th scope="col">Published</th>
            </tr>
          </thead>
          <tbody>
            {saga.messages.map((m) => (
              <tr key={m.id} data-testid="saga-message">
                <td>{m.type}</td>
                <td>
                  {m.destination} {m.topic}
                </td>
                <td class="mono">{m.messageId}</td>
                <td>{time(m.createdAt)}</td>
                <td>{m.published ? 'yes' : 'not yet'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p>None recorded.</p>
      )}
      <h2>Dead letters</h2>
      {saga.deadLetters?.length ? (
        <ul data-testid="saga-dead-letters">
          {saga.deadLetters.map((d) => (
            <li key={d.id}>
              <Badge value={d.status} /> {d.origin}, {d.attempts} attempt(s), {time(d.createdAt)}: {d.error}
            </li>
          ))}
        </ul>
      ) : (
        <p>None.</p>
      )}
    </>
  );
}
