import express, { Router } from 'express';
import { getAbsoluteFSPath } from 'swagger-ui-dist';
import { openApiDocument } from './openapi';

// Swagger UI from the npm package (no CDN); the page loads /openapi.json from this server.
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>orderflow API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script></body></html>`;
const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui' });`;

/** `/openapi.json` and `/docs` (Swagger UI), open to everyone like the API description should be. */
export function docsRoutes(): Router {
  const router = Router();
  const body = JSON.stringify(openApiDocument);
  router.get('/openapi.json', (_req, res) => void res.type('application/json').send(body));
  router.get('/docs', (_req, res) => {
    // Swagger UI needs inline styles; scripts stay same-origin.
    res.set('Content-Security-Policy', "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:");
    res.type('html').send(PAGE);
  });
  router.get('/docs/init.js', (_req, res) => void res.type('application/javascript').send(INIT));
  router.use('/docs/assets', express.static(getAbsoluteFSPath(), { index: false }));
  return router;
}
