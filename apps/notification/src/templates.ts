// The three e-mails, rendered from the task alone (pure: no I/O, no clock), as plain text and HTML.
import { formatCents, type EmailTemplate, type NotificationTask } from '@orderflow/domain';

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

type Order = NotificationTask['order'];

const COPY: Record<EmailTemplate, { subject: (id: string) => string; lead: string }> = {
  'order-confirmed': { subject: (id) => `Your order ${id} is confirmed`, lead: 'Thank you! Your order is confirmed and we are preparing it.' },
  'order-rejected': { subject: (id) => `Your order ${id} could not be accepted`, lead: 'We are sorry: we could not accept your order.' },
  'order-cancelled': { subject: (id) => `Your order ${id} has been cancelled`, lead: 'Your order has been cancelled.' },
};

// Known reason codes get words a customer understands; anything else is shown as it came.
const REASONS: Record<string, string> = {
  OUT_OF_STOCK: 'some items are out of stock',
  PROCESSING_FAILED: 'we could not process it',
};

const describeReason = (reason: string) => (REASONS[reason] ? `${REASONS[reason]} (${reason})` : reason);

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": '#39' }[c]};`);
}

function lines(order: Order) {
  return order.items.map((item) => ({ ...item, unit: formatCents(item.unitPriceCents), amount: formatCents(item.quantity * item.unitPriceCents) }));
}

/** Subject, text and HTML of the e-mail a task asks for. */
export function renderEmail(task: NotificationTask): RenderedEmail {
  const { order } = task;
  const copy = COPY[task.template];
  const reason = order.reason ?? (task.template === 'order-rejected' ? 'no reason was given' : undefined);
  const items = lines(order);
  const total = formatCents(order.totalCents);

  const text = [
    copy.lead,
    '',
    `Order: ${order.id}`,
    ...(reason ? [`Reason: ${describeReason(reason)}`] : []),
    '',
    ...items.map((i) => `  ${i.quantity} x ${i.sku} at ${i.unit} = ${i.amount}`),
    '',
    `Total: ${total}`,
    '',
  ].join('\n');

  const e = escapeHtml;
  const html = [
    '<!doctype html>',
    '<html><body>',
    `<p>${e(copy.lead)}</p>`,
    `<p>Order: <strong>${e(order.id)}</strong></p>`,
    ...(reason ? [`<p>Reason: ${e(describeReason(reason))}</p>`] : []),
    '<table>',
    '<thead><tr><th>SKU</th><th>Quantity</th><th>Unit price</th><th>Amount</th></tr></thead>',
    '<tbody>',
    ...items.map((i) => `<tr><td>${e(i.sku)}</td><td>${i.quantity}</td><td>${e(i.unit)}</td><td>${e(i.amount)}</td></tr>`),
    '</tbody>',
    `<tfoot><tr><td colspan="3">Total</td><td>${e(total)}</td></tr></tfoot>`,
    '</table>',
    '</body></html>',
    '',
  ].join('\n');

  return { subject: copy.subject(order.id), text, html };
}
