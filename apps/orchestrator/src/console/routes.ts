import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { Router } from 'express';
import { repoRoot } from '@orderflow/config';

/**
 * Where `node scripts/build.mjs` puts the console's bundle: dist/console/ under the repository root,
 * which is also where the image has it (/app/dist/console, nx.json marking /app as the root).
 */
export const CONSOLE_ASSETS = join(repoRoot(), 'dist', 'console');

// The shell of the single-page app: same-origin script and stylesheet only, so helmet's default CSP holds.
const SHELL = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark"><title>orderflow console</title>
<link rel="stylesheet" href="/console/assets/app.css"><script type="module" src="/console/assets/app.js"></script></head>
<body><div id="app"><noscript>The orderflow console needs JavaScript.</noscript></div></body></html>`;

/**
 * The operators' web console, mounted at /console: its bundle under /console/assets/, and the HTML
 * shell for /console and every client-side path under it (the app routes by history).
 */
export function consoleRoutes(assets: string = CONSOLE_ASSETS): Router {
  const router = Router();
  // A missing asset is a 404, never the shell; revalidated on each load (ETag), so a new build shows at once.
  router.use('/assets', express.static(assets, { index: false, maxAge: 0 }));
  router.use('/assets', (_req, res) => void res.status(404).type('text').send('no such asset'));
  router.get('/{*path}', (_req, res) => {
    if (!existsSync(join(assets, 'app.js'))) {
      res.status(503).type('text').send('The console is not built: run `node scripts/build.mjs console` (make build does).');
      return;
    }
    res.set('Cache-Control', 'no-cache').type('html').send(SHELL);
  });
  return router;
}
