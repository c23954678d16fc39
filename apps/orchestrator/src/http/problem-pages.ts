import { Router } from 'express';
import { PROBLEMS, PROBLEM_PAGES, sendProblem, type ProblemType } from './problem';

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** `code` spans for the backticks the texts use. */
const inline = (text: string) => escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');

function page(type: ProblemType): string {
  const { status, title, about, todo } = PROBLEMS[type];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} (${status})</title></head>
<body>
<h1>${escapeHtml(title)}</h1>
<p>Problem type <code>${escapeHtml(`${PROBLEM_PAGES}${type}`)}</code>, answered with HTTP status ${status} as <code>application/problem+json</code> (RFC 9457).</p>
<h2>What happened</h2>
<p>${inline(about)}</p>
<h2>What to do</h2>
<p>${inline(todo)}</p>
<p><a href="/docs">API documentation</a></p>
</body></html>
`;
}

const PAGES = new Map(Object.keys(PROBLEMS).map((type) => [type, page(type as ProblemType)]));

/** `/problems/<type>`: a short page per problem type, so that every `type` the API answers with is documented. */
export function problemPageRoutes(): Router {
  const router = Router();
  router.get('/:type', (req, res) => {
    const html = PAGES.get(req.params.type);
    if (html === undefined) return sendProblem(res, 'not-found', 'no such problem type');
    res.type('html').send(html);
  });
  return router;
}
