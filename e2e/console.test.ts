// The operators' web console at /console in headless Chromium (1280x800) against the whole system:
// a customer token is refused at sign-in, an admin one signs in; the overview renders; an order placed
// over REST is found on the Sagas page by its customer and its timeline opened; its confirmation e-mail,
// refused by the SMTP server (550), is replayed from the Dead letters page and then sent exactly once;
// a product's price and stock edited on the Products page are what the API answers (a save whose answer
// was lost is retried with the same Idempotency-Key); an operator cancels the order from its saga page;
// another refused e-mail is discarded there with a reason and never sent; the Audit page lists those
// actions; every other write the console sent carried a fresh key. The console is then driven by keyboard
// alone (skip link, menu, a search, a result), and every page is checked in light and dark: every control
// labelled, no sideways scrolling at 1280x800, every visible text at WCAG AA contrast.
// A full-page screenshot of each page is saved under var/test-output/console/ (<page>.png; the overview
// also in the dark scheme).
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { repoRoot } from '@orderflow/config';
import { parseRfc5322, startSmtpSink, waitFor, type SmtpSink } from '@orderflow/testing';
import { apiClient } from './support/client';
import { startSystem, type System } from './support/system';

// Debian's chromium here; CHROMIUM_PATH names another Chromium or Chrome (the GitHub workflow installs one).
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SHOTS = join(repoRoot(), 'var', 'test-output', 'console');
const UI_TIMEOUT = 20_000;

let smtp: SmtpSink;
let system: System;
let api: ReturnType<typeof apiClient>;
let admin: string;
let browser: Browser;
let page: Page;
const customerId = `console-${randomUUID()}`;
const orderSku = `CON-${randomUUID().slice(0, 8)}`.toUpperCase();
const editSku = `CON-${randomUUID().slice(0, 8)}`.toUpperCase();
let orderId: string;
let letterId: string;
let discardedId: string;
/** Every write the console sent: method, path and its Idempotency-Key. */
const writes: { method: string; path: string; key: string | undefined }[] = [];
const pageErrors: string[] = [];

const testId = (id: string) => page.getByTestId(id);
const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
/** The e-mails the SMTP sink accepted for one task (Message-ID is `<task id@orderflow.local>`). */
const mailsFor = (taskId: string) => smtp.messages.filter((raw) => parseRfc5322(raw).headers.get('message-id') === `<${taskId}@orderflow.local>`);

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (make system-deps does) or set CHROMIUM_PATH`);
  mkdirSync(SHOTS, { recursive: true });
  smtp = await startSmtpSink();
  system = await startSystem('e2e_console', { appEnv: { notification: { SMTP_URL: smtp.url } } });
  api = apiClient(system.url);
  admin = system.token('ops', 'admin');
  for (const sku of [orderSku, editSku]) {
    const put = await api.request('PUT', `/v1/admin/products/${sku}`, {
      token: admin,
      body: { name: `Console beans ${sku}`, priceCents: 900, stock: 20 },
      headers: { 'idempotency-key': randomUUID() },
    });
    expect(put.status).toBe(201);
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(UI_TIMEOUT);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // A script or style the CSP refused would show here.
  page.on('console', (message) => void (/Content Security Policy|Refused to/.test(message.text()) && pageErrors.push(message.text())));
  page.on('request', (request) => {
    if (request.method() === 'GET') return;
    writes.push({ method: request.method(), path: new URL(request.url()).pathname, key: request.headers()['idempotency-key'] });
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await system?.stop();
  await smtp?.close();
});

it('serves the shell at /console and its sub-paths, and its script and stylesheet as same-origin files', async () => {
  for (const path of ['/console', '/console/', '/console/sagas/some-id']) {
    const res = await fetch(`${system.url}${path}`);
    expect({ path, status: res.status, type: res.headers.get('content-type') }).toEqual({ path, status: 200, type: 'text/html; charset=utf-8' });
    expect(await res.text()).toContain('/console/assets/app.js');
  }
  expect((await fetch(`${system.url}/console/assets/app.js`)).headers.get('content-type')).toMatch(/javascript/);
  expect((await fetch(`${system.url}/console/assets/app.css`)).headers.get('content-type')).toMatch(/text\/css/);
  expect((await fetch(`${system.url}/console/assets/nothing.js`)).status).toBe(404);
});

it('refuses a customer token at sign-in, and signs in with an admin token', async () => {
  await page.goto(`${system.url}/console`);
  await testId('token-input').fill(system.token(customerId));
  await testId('sign-in').click();
  await waitText(testId('alert'), /not an admin token/);
  await shot('sign-in');

  await testId('token-input').fill(admin);
  await testId('sign-in').click();
  await testId('nav-overview').waitFor();
  expect(await page.evaluate("sessionStorage.getItem('orderflow.console.token')")).toBe(admin);
});

it('shows the overview: orders by status, sagas in flight, throughput, backlogs and dependencies', async () => {
  await testId('orders-CONFIRMED').waitFor();
  for (const id of ['sagas-in-flight', 'throughput-chart', 'dead-letter-depth', 'outbox-backlog', 'outbox-age', 'dependencies']) await testId(id).waitFor();
  await testId('dependency-postgres').filter({ hasText: 'up' }).waitFor();
  await shot('overview');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot('overview-dark');
  await page.emulateMedia({ colorScheme: 'light' });
});

it('finds an order by its customer on the Sagas page and opens its timeline', async () => {
  // The SMTP server refuses its confirmation e-mail for good: that task goes to the dead-letter queue at once.
  smtp.failNext('550 5.1.1 mailbox unavailable');
  const placed = await api.placeOrder(system.token(customerId), [{ sku: orderSku, quantity: 1 }]);
  expect(placed.status).toBe(202);
  orderId = placed.body.id;
  await api.settled(system.token(customerId), orderId, 'CONFIRMED', 30_000);

  await testId('nav-sagas').click();
  await testId('saga-filter-customer').fill(customerId);
  await testId('saga-search-submit').click();
  const row = testId('saga-row').filter({ hasText: orderId });
  await row.waitFor();
  await waitText(row, /COMPLETED/);
  await shot('sagas');

  await row.getByTestId('saga-link').click();
  await page.waitForURL(`**/console/sagas/${orderId}`);
  await waitText(testId('saga-outcome'), /CONFIRMED/);
  const steps = await testId('saga-timeline-step').allInnerTexts();
  expect(steps.join('\n')).toMatch(/RESERVE_STOCK[\s\S]*CONFIRM_ORDER/);
  await testId('saga-message').first().waitFor();
  await shot('saga');
});

it('replays the refused e-mail from the Dead letters page, and it is sent exactly once', async () => {
  const letter = await waitFor(
    async () => {
      const res = await api.request('GET', '/v1/admin/dead-letters?source=rabbitmq&limit=200', { token: admin });
      return res.body.items.find((d: any) => d.key === orderId);
    },
    { timeoutMs: 30_000, intervalMs: 250, what: `the dead letter of order ${orderId}'s e-mail` },
  );
  expect(letter).toMatchObject({ origin: 'notification.send', status: 'pending', error: expect.stringMatching(/550/) });
  expect(mailsFor(letter.messageId)).toHaveLength(0);
  letterId = letter.id;

  await testId('nav-dead-letters').click();
  await testId('dead-letter-filter-source').selectOption('rabbitmq');
  await testId('dead-letter-search-submit').click();
  const row = page.locator(`[data-testid="dead-letter-row"][data-id="${letter.id}"]`);
  await row.getByTestId('dead-letter-toggle').click();
  await waitText(row.getByTestId('dead-letter-payload'), new RegExp(orderId));
  await waitText(row.getByTestId('dead-letter-headers'), /x-error/);
  await shot('dead-letters');
  await row.getByTestId('dead-letter-replay').click();
  await waitText(row.getByTestId('dead-letter-notice'), /^Replayed\.$/);
  await waitText(row.getByTestId('dead-letter-status'), /replayed/);
  expect(await row.getByTestId('dead-letter-replay').isDisabled()).toBe(true);

  await waitFor(() => mailsFor(letter.messageId).length > 0, { timeoutMs: 30_000, what: 'the replayed e-mail' });
  expect(mailsFor(letter.messageId)).toHaveLength(1);
  const replayed = await api.request('GET', `/v1/admin/sagas/${orderId}`, { token: admin });
  expect(replayed.body.deadLetters).toEqual([expect.objectContaining({ id: letter.id, status: 'replayed' })]);

  // "Replay all matching" (rabbitmq, as searched) after a confirmation: nothing pending is left, nothing is sent again.
  await testId('replay-all').click();
  await testId('replay-all-yes').click();
  await waitText(testId('replay-all-result'), /^Replayed 0 of 0 matching/);
  expect(mailsFor(letter.messageId)).toHaveLength(1);
});

it('discards a dead letter from the Dead letters page, with a reason, and its e-mail is never sent', async () => {
  smtp.failNext('550 5.1.1 mailbox unavailable');
  const placed = await api.placeOrder(system.token(customerId), [{ sku: orderSku, quantity: 1 }]);
  expect(placed.status).toBe(202);
  await api.settled(system.token(customerId), placed.body.id, 'CONFIRMED', 30_000);
  const letter = await waitFor(
    async () => {
      const res = await api.request('GET', '/v1/admin/dead-letters?source=rabbitmq&status=pending&limit=200', { token: admin });
      return res.body.items.find((d: any) => d.key === placed.body.id);
    },
    { timeoutMs: 30_000, intervalMs: 250, what: `the dead letter of order ${placed.body.id}'s e-mail` },
  );
  discardedId = letter.id;

  // The list as searched before (rabbitmq, any status), loaded again: the discarded letter stays in it.
  await testId('dead-letter-search-submit').click();
  const row = page.locator(`[data-testid="dead-letter-row"][data-id="${letter.id}"]`);
  await row.getByTestId('dead-letter-toggle').click();
  await row.getByTestId('dead-letter-discard').click();
  await row.getByTestId('dead-letter-discard-form-reason').fill('customer unsubscribed');
  await row.getByTestId('dead-letter-discard-form-submit').click();
  await waitText(row.getByTestId('dead-letter-status'), /discarded/);
  expect(await row.getByTestId('dead-letter-replay').isDisabled()).toBe(true);
  expect(await row.getByTestId('dead-letter-discard').isDisabled()).toBe(true);
  await shot('dead-letters-discarded');

  const saga = await api.request('GET', `/v1/admin/sagas/${placed.body.id}`, { token: admin });
  expect(saga.body.deadLetters).toEqual([expect.objectContaining({ id: letter.id, status: 'discarded' })]);
  expect(mailsFor(letter.messageId)).toHaveLength(0);
});

it('edits a product’s name, price and stock on the Products page; a save whose answer was lost is retried with the same key', async () => {
  await testId('nav-products').focus();
  await page.keyboard.press('Enter');
  const row = page.locator(`[data-testid="product-row"][data-sku="${editSku}"]`);
  await row.getByTestId('product-edit').click();
  await row.getByTestId('product-name').fill('Console roast');
  await row.getByTestId('product-price-input').fill('12.34');
  await row.getByTestId('product-stock-input').fill('77');
  // The first save reaches the server, but the browser never sees its answer.
  const path = `**/v1/admin/products/${editSku}`;
  await page.route(path, async (route) => {
    await route.fetch();
    await route.abort('connectionreset');
  });
  await row.getByTestId('product-save').click();
  await waitText(testId('alert'), /No answer from the server/);
  await page.unroute(path);
  const answer = page.waitForResponse((res) => res.request().method() === 'PUT' && res.url().endsWith(`/v1/admin/products/${editSku}`));
  await row.getByTestId('product-save').click();
  expect((await answer).headers()['idempotent-replayed']).toBe('true');
  await waitText(row.getByTestId('product-price'), /^12\.34$/);
  await waitText(row.getByTestId('product-available'), /^77$/);
  await shot('products');
  const product = await api.product(admin, editSku);
  expect(product.body).toMatchObject({ sku: editSku, name: 'Console roast', priceCents: 1234, available: 77 });
});

it('cancels the order from its saga page (opened by its id on the Sagas page), with a reason', async () => {
  await testId('nav-sagas').click();
  await testId('saga-open-id').fill(` ${orderId} `); // as pasted, spaces and all
  await testId('saga-open-submit').click();
  await page.waitForURL(`**/console/sagas/${orderId}`);
  // Its saga has ended: Retry is refused (409), and the problem stays shown after the page reloads the saga.
  await testId('saga-state').waitFor(); // its first load is done: the next GET of the saga is the reload after Retry
  const reloaded = page.waitForResponse((res) => res.request().method() === 'GET' && res.url().endsWith(`/v1/admin/sagas/${orderId}`));
  await testId('saga-retry').click();
  await reloaded;
  await waitText(testId('alert'), /has ended/);
  await testId('saga-cancel').click();
  await testId('saga-cancel-form-reason').fill('customer called');
  await testId('saga-cancel-form-submit').click();
  await waitText(testId('saga-notice'), /Cancellation requested/);
  expect(await testId('alert').innerText()).toBe('');
  await api.settled(system.token(customerId), orderId, 'CANCELLED', 30_000);
  await page.reload();
  await waitText(testId('saga-outcome'), /CANCELLED/);
  await waitText(testId('saga-timeline'), /customer called/);
});

it('lists those actions on the Audit page; every write the console sent had its own Idempotency-Key, the retried one its first', async () => {
  await testId('nav-audit').click();
  // The console's edit (200: updated), not the creation at the start (201).
  await page
    .locator('[data-testid="audit-row"][data-action="product.upsert"]')
    .filter({ hasText: editSku })
    .filter({ hasText: /updated/ })
    .waitFor();
  await page.locator('[data-testid="audit-row"][data-action="saga.cancel"]').filter({ hasText: 'customer called' }).waitFor();
  await page.locator('[data-testid="audit-row"][data-action="dead-letter.replay-matching"]').first().waitFor();
  await page.locator('[data-testid="audit-row"][data-action="dead-letter.replay"]').filter({ hasText: letterId }).waitFor();
  await page.locator('[data-testid="audit-row"][data-action="dead-letter.discard"]').filter({ hasText: discardedId }).waitFor();
  await shot('audit');
  // Narrowed to one action of one operator: only that action's rows stay.
  await testId('audit-filter-action').fill('saga.cancel');
  await testId('audit-filter-actor').fill('ops');
  await testId('audit-search-submit').click();
  await page.locator('[data-testid="audit-row"][data-action="product.upsert"]').first().waitFor({ state: 'detached' });
  expect(new Set(await testId('audit-action').allInnerTexts())).toEqual(new Set(['saga.cancel']));
  await testId('audit-filter-actor').fill('someone-else');
  await testId('audit-search-submit').click();
  await waitText(testId('audit-empty'), /Nothing recorded that matches/);

  const consoleWrites = writes.filter((w) => w.path.startsWith('/v1/'));
  expect(consoleWrites.map((w) => `${w.method} ${w.path.replace(/[0-9a-f-]{36}|CON-[0-9A-F]{8}/g, ':id')}`)).toEqual([
    'POST /v1/admin/dead-letters/:id/replay',
    'POST /v1/admin/dead-letters/replay',
    'POST /v1/admin/dead-letters/:id/discard',
    'PUT /v1/admin/products/:id',
    'PUT /v1/admin/products/:id',
    'POST /v1/admin/sagas/:id/retry',
    'POST /v1/admin/sagas/:id/cancel',
  ]);
  for (const w of consoleWrites) expect(w.key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const keys = consoleWrites.map((w) => w.key);
  expect(keys[4]).toBe(keys[3]);
  expect(new Set(keys).size).toBe(consoleWrites.length - 1);
});

it('is usable by keyboard alone: the skip link comes first, the menu, a search and a result are reached with Tab and Enter', async () => {
  await page.goto(`${system.url}/console`);
  await testId('orders-CONFIRMED').waitFor();
  const tabOrder = (await page.evaluate(TABBABLE_TESTIDS_OR_TEXT)) as string[];
  expect(tabOrder.slice(0, 3)).toEqual(['Skip to content', 'nav-overview', 'nav-sagas']);
  await page.locator('a.skip').focus();
  const skip = await page.locator('a.skip').boundingBox();
  expect(skip && skip.x >= 0 && skip.y >= 0 && skip.x + skip.width <= 1280).toBe(true); // shown once focused

  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  expect(await focusedTestId()).toBe('nav-sagas');
  await page.keyboard.press('Enter');
  await page.waitForURL('**/console/sagas');
  // The page's heading takes the focus once the page has rendered (a moment after the address changed).
  await page.waitForFunction(`document.activeElement?.tagName === 'H1' && document.activeElement.textContent === 'Sagas'`);
  await tabTo('saga-filter-customer');
  await page.keyboard.type(customerId);
  await page.keyboard.press('Enter');
  await testId('saga-row').filter({ hasText: orderId }).waitFor();
  await tabTo('saga-link', orderId);
  await page.keyboard.press('Enter');
  await page.waitForURL(`**/console/sagas/${orderId}`);
  await waitText(testId('saga-outcome'), /CANCELLED/);
});

it('labels every control, fits a 1280×800 screen without sideways scrolling, and keeps its text readable (WCAG AA contrast) in light and dark', async () => {
  const pages: [string, string][] = [
    ['/console', 'orders-CONFIRMED'],
    ['/console/sagas', 'saga-table'],
    [`/console/sagas/${orderId}`, 'saga-timeline'],
    ['/console/dead-letters', 'dead-letter-table'],
    ['/console/products', 'product-table'],
    ['/console/audit', 'audit-table'],
  ];
  const findings: Record<string, unknown> = {};
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const [path, ready] of pages) {
      await page.goto(`${system.url}${path}`);
      await testId(ready).waitFor();
      if (path.endsWith('dead-letters')) await page.locator(`[data-testid="dead-letter-row"][data-id="${letterId}"]`).getByTestId('dead-letter-toggle').click();
      const found = (await page.evaluate(A11Y_AUDIT)) as { unlabelled: string[]; overflowPx: number; lowContrast: string[]; texts: number };
      expect(found.texts).toBeGreaterThan(5); // the audit saw the page's text
      if (found.unlabelled.length || found.overflowPx > 0 || found.lowContrast.length) findings[`${scheme} ${path}`] = { ...found, texts: undefined };
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  expect(findings).toEqual({});
});

it('signs out, and nothing the browser ran broke a rule of the CSP or threw', async () => {
  await testId('sign-out').click();
  await testId('token-input').waitFor();
  expect(await page.evaluate("sessionStorage.getItem('orderflow.console.token')")).toBeNull();
  expect(pageErrors).toEqual([]);
});

/** Waits (Playwright polls, up to the page's default timeout) until the element's text matches. */
const waitText = (locator: Locator, pattern: RegExp) => locator.filter({ hasText: pattern }).waitFor();

/** The element that has the keyboard focus, by its data-testid. */
const focusedTestId = () => page.evaluate('document.activeElement?.getAttribute("data-testid") ?? null');

/** Presses Tab until the focus is on `testid` (the one holding `text`, if given); fails after 40 presses. */
async function tabTo(testid: string, text = ''): Promise<void> {
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press('Tab');
    const focused = (await page.evaluate('[document.activeElement?.getAttribute("data-testid"), document.activeElement?.textContent ?? ""]')) as [
      string | null,
      string,
    ];
    if (focused[0] === testid && focused[1].includes(text)) return;
  }
  throw new Error(`Tab never reached ${testid} ${text}`);
}

/** What Tab visits, in order (data-testid, else the text): links, buttons and fields that are shown and enabled. */
const TABBABLE_TESTIDS_OR_TEXT = `[...document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]')]
  .filter((el) => !el.disabled && el.tabIndex >= 0 && getComputedStyle(el).visibility !== 'hidden' && el.getClientRects().length > 0)
  .map((el) => el.getAttribute('data-testid') ?? el.textContent.trim())`;

/**
 * Runs in the page: controls without an accessible name, how far the page is wider than the window, and
 * every visible text whose colour against its background is below WCAG AA (4.5:1, 3:1 for large text;
 * disabled controls are exempt, as WCAG says). Backgrounds are composed up the ancestors.
 */
const A11Y_AUDIT = `(() => {
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 1 && r.height > 1 && r.right > 0 && r.bottom > 0 && s.visibility !== 'hidden' && s.display !== 'none';
  };
  const nameOf = (el) =>
    (el.getAttribute('aria-label') ||
      (el.getAttribute('aria-labelledby') || '').split(' ').map((id) => document.getElementById(id)?.textContent ?? '').join(' ') ||
      [...(el.labels ?? [])].map((l) => l.textContent).join(' ') ||
      (el.tagName === 'BUTTON' || el.tagName === 'A' ? el.textContent : '') ||
      el.getAttribute('title') ||
      '').trim();
  const unlabelled = [...document.querySelectorAll('input, select, textarea, button, a[href]')]
    .filter((el) => el.type !== 'hidden' && shown(el) && !nameOf(el))
    .map((el) => el.outerHTML.slice(0, 120));
  const rgba = (css) => {
    const p = css.startsWith('rgb') ? css.slice(css.indexOf('(') + 1, css.lastIndexOf(')')).replace(/[,/]/g, ' ').split(' ').filter(Boolean).map(Number) : [0, 0, 0, 0];
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const over = (top, under) => ({ r: top.r * top.a + under.r * (1 - top.a), g: top.g * top.a + under.g * (1 - top.a), b: top.b * top.a + under.b * (1 - top.a), a: 1 });
  const backgroundOf = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c.a > 0) layers.push(c);
      if (c.a >= 1) break;
    }
    return layers.reduceRight((under, top) => over(top, under), { r: 255, g: 255, b: 255, a: 1 });
  };
  const luminance = ({ r, g, b }) => {
    const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const contrast = (x, y) => {
    const [hi, lo] = [luminance(x), luminance(y)].sort((p, q) => q - p);
    return (hi + 0.05) / (lo + 0.05);
  };
  const texts = [...document.querySelectorAll('body *')].filter(
    (el) => !el.closest('svg') && !el.closest(':disabled') && shown(el) && [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim()),
  );
  const lowContrast = texts.flatMap((el) => {
    const s = getComputedStyle(el);
    const size = parseFloat(s.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700);
    const bg = backgroundOf(el);
    const ratio = contrast(over(rgba(s.color), bg), bg);
    return ratio < (large ? 3 : 4.5) ? [el.tagName.toLowerCase() + '.' + el.className + ' "' + el.textContent.trim().slice(0, 30) + '" ' + ratio.toFixed(2) + ':1'] : [];
  });
  const overflowPx = document.documentElement.scrollWidth - document.documentElement.clientWidth;
  return { unlabelled, overflowPx, lowContrast, texts: texts.length };
})()`;
