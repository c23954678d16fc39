import { EMAIL_TEMPLATES } from '@orderflow/domain';
import { buildTask } from './testing/tasks';
import { escapeHtml, renderEmail } from './templates';

describe('e-mail templates', () => {
  it.each(EMAIL_TEMPLATES)('%s names the order, every item with quantity and unit price, and the total', (template) => {
    const task = buildTask({ template });
    const email = renderEmail(task);
    expect(email.subject).toContain(task.order.id);
    for (const body of [email.text, email.html]) {
      expect(body).toContain(task.order.id);
      expect(body).toContain('BEAN-ETHIOPIA-250');
      expect(body).toContain('MUG-WHITE');
      expect(body).toContain('12.50');
      expect(body).toContain('9.05');
      expect(body).toContain('34.05');
    }
    expect(email.text).toContain('2 x BEAN-ETHIOPIA-250 at 12.50 = 25.00');
    expect(email.text).toContain('1 x MUG-WHITE at 9.05 = 9.05');
    expect(email.text).toContain('Total: 34.05');
  });

  it('gives each template its own subject', () => {
    const subjects = EMAIL_TEMPLATES.map((template) => renderEmail(buildTask({ template })).subject.replace(/ [0-9a-f-]{36}/, ''));
    expect(new Set(subjects).size).toBe(3);
    expect(subjects).toEqual(['Your order is confirmed', 'Your order could not be accepted', 'Your order has been cancelled']);
  });

  it('a rejection names its reason', () => {
    const email = renderEmail(buildTask({ template: 'order-rejected', order: { status: 'REJECTED', reason: 'OUT_OF_STOCK' } }));
    expect(email.text).toContain('Reason: some items are out of stock (OUT_OF_STOCK)');
    expect(email.html).toContain('Reason: some items are out of stock (OUT_OF_STOCK)');
    expect(renderEmail(buildTask({ template: 'order-rejected', order: { reason: 'SOMETHING_NEW' } })).text).toContain('Reason: SOMETHING_NEW');
  });

  it('escapes values in the HTML part', () => {
    const email = renderEmail(
      buildTask({
        template: 'order-rejected',
        order: { reason: '<script>alert("x")</script>', items: [{ sku: 'A&B<i>', quantity: 1, unitPriceCents: 100 }], totalCents: 100 },
      }),
    );
    expect(email.html).not.toContain('<script>');
    expect(email.html).not.toContain('<i>');
    expect(email.html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(email.html).toContain('<td>A&amp;B&lt;i&gt;</td>');
    expect(email.text).toContain('A&B<i>');
    expect(escapeHtml(`'"&<>`)).toBe('&#39;&quot;&amp;&lt;&gt;');
  });

  it('is pure: the same task renders the same e-mail', () => {
    const task = buildTask();
    expect(renderEmail(task)).toEqual(renderEmail(structuredClone(task)));
  });
});
