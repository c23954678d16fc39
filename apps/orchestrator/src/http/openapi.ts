// The OpenAPI 3.1 description of the public API, served at /openapi.json and rendered at /docs. Its
// schemas (request bodies, path and query parameters, response bodies) are generated from the zod
// schemas the routes parse with (schemas.ts) and answer with (responses.ts, problem.ts); only paths,
// operations, statuses and headers are written here. e2e/openapi.test.ts checks real responses of every
// documented operation and status against it; `make lint-openapi` lints it with Redocly.
import { z } from 'zod';
import { PROBLEMS, PROBLEM_PAGES, problemSchema } from './problem';
import * as responses from './responses';
import {
  auditQuery,
  createApiKeyBody,
  createWebhookBody,
  updateWebhookBody,
  deadLetterQuery,
  listQuery,
  orderIdParam,
  placeOrderBody,
  reasonBody,
  replayMatchingBody,
  sagaSearchQuery,
  skuParam as skuSchema,
  upsertProductBody,
} from './schemas';

const json = (schema: object) => ({ 'application/json': { schema } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
/** An error response: problem+json whose `type` is one of `types` (all of one status). */
const problem = (description: string, ...types: (keyof typeof PROBLEMS)[]) => {
  const status = PROBLEMS[types[0]!].status;
  if (types.some((t) => PROBLEMS[t].status !== status)) throw new Error(`problem types of different statuses: ${types.join(', ')}`);
  return {
    description: `${description} Problem types: ${types.map((t) => `\`${PROBLEM_PAGES}${t}\``).join(', ')}.`,
    content: {
      'application/problem+json': {
        schema: { allOf: [ref('Problem')], properties: { type: { enum: types.map((t) => `${PROBLEM_PAGES}${t}`) }, status: { const: status } } },
      },
    },
  };
};

// Structured Fields of draft-ietf-httpapi-ratelimit-headers-11: a List with one String item (the policy's
// name) with Integer parameters per policy that applied: the client address's, then the caller's and its
// burst cap once the request is authenticated.
const policyList = (params: string) => {
  const item = `"(per-ip|per-caller|burst)";${params}`;
  return `^${item}(, ${item})*$`;
};
const rateLimitHeaders = {
  'RateLimit-Policy': {
    description: 'The quota policies that applied: `q` requests per `w` seconds each, e.g. `"per-ip";q=1000;w=60, "per-caller";q=600;w=60, "burst";q=10;w=1`',
    required: true,
    schema: { type: 'string', pattern: policyList('q=[0-9]+;w=[0-9]+') },
  },
  RateLimit: {
    description: 'What is left of each: `r` requests remain for the next `t` seconds, e.g. `"per-ip";r=998;t=59, "per-caller";r=0;t=42, "burst";r=9;t=1`',
    required: true,
    schema: { type: 'string', pattern: policyList('r=[0-9]+;t=[0-9]+') },
  },
};
const retryAfter = { 'Retry-After': { description: 'Seconds to wait before retrying', required: true, schema: { type: 'string', pattern: '^[0-9]+$' } } };
// Every /v1 operation: a token is checked first, then the caller's rate limit. No operation documents
// 500: an unexpected error is answered as problem+json `internal` with no details, and is a bug.
const common = {
  '401': problem('Missing, malformed, expired or badly signed token.', 'unauthorized'),
  '429': {
    ...problem('Over a rate limit (per client address, per caller, or the per-second burst cap); retry after `Retry-After` seconds.', 'rate-limited'),
    headers: { ...retryAfter, ...rateLimitHeaders },
  },
};
// Only operations that call the order or inventory service (over gRPC) can find them unavailable.
const downstream = {
  '503': { ...problem('The order or inventory service is unavailable (or its circuit breaker is open); retry.', 'unavailable'), headers: retryAfter },
};
const adminOnly = { '403': problem('The token is not an admin token.', 'forbidden') };
const idempotencyKey = {
  name: 'Idempotency-Key',
  in: 'header',
  required: true,
  description:
    'Unique key of this write, 1-255 printable ASCII characters (bare or as a quoted structured-field string), scoped to the caller. ' +
    'A finished request is replayed byte for byte with `Idempotent-Replayed: true`; the same key with another method, path or body is 422; ' +
    'while the first is running, 409 (a running request renews its claim). A request that failed before any effect frees its key; one that failed after ' +
    'its first effect can be retried at once and resumes it; one whose process died is taken over by a retry at most `IDEMPOTENCY_LOCK_SECONDS` ' +
    '(default 10 s) after its last renewal, and completes the same single order. Keys expire after `IDEMPOTENCY_TTL_HOURS` (default 24 h) and are then purged.',
  schema: { type: 'string', minLength: 1, maxLength: 257 },
};
const writeResponses = {
  '400': problem('Invalid body or Idempotency-Key.', 'validation-failed', 'malformed-json', 'idempotency-key-missing', 'idempotency-key-invalid'),
  '409': problem('Same key still in flight, or the order cannot change that way.', 'idempotency-key-in-use', 'conflict'),
  '413': problem('Body over 64 KiB.', 'payload-too-large'),
  '415': problem('Body is not application/json.', 'unsupported-media-type'),
  '422': problem('Same key used for a different request.', 'idempotency-key-reused'),
};
const adminIdempotencyKey = {
  ...idempotencyKey,
  description:
    'Unique key of this admin write, 1-255 printable ASCII characters, scoped to the admin (token `sub`), with the rules of the order writes: ' +
    'a finished request is replayed byte for byte with `Idempotent-Replayed: true` (nothing runs twice, one audit row); the same key with another ' +
    'method, path or body is 422; while the first is running, 409.',
};
// Every admin write: a key, an audit row, and the errors of its key and body.
const adminWriteResponses = {
  '400': problem('Invalid body or Idempotency-Key.', 'validation-failed', 'malformed-json', 'idempotency-key-missing', 'idempotency-key-invalid'),
  '413': problem('Body over 64 KiB.', 'payload-too-large'),
  '415': problem('Body is not application/json.', 'unsupported-media-type'),
  '422': problem('Same key used for a different request.', 'idempotency-key-reused'),
};
const adminConflict = (description: string) => problem(`${description}, or the same key still in flight.`, 'idempotency-key-in-use', 'conflict');
const accepted = (description: string) => ({
  description,
  headers: {
    Location: { description: 'The order', required: true, schema: { type: 'string', pattern: '^/v1/orders/[0-9a-f-]{36}$' } },
    'Idempotent-Replayed': {
      description: '`true` when this is a stored answer to an earlier request with the same key',
      schema: { type: 'string', enum: ['true'] },
    },
    ...rateLimitHeaders,
  },
  content: json(ref('Order')),
});
const ok = (description: string, schema: object) => ({ description, headers: rateLimitHeaders, content: json(schema) });
// zod 4 bounds every integer to the safe range; said on each field, it only adds noise.
const override = ({ jsonSchema }: { jsonSchema: { minimum?: number; maximum?: number } }) => {
  if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
  if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
};
/** JSON Schema 2020-12 (OpenAPI 3.1's dialect) of one zod schema, without `$schema`. */
const jsonSchemaOf = (schema: z.ZodType, io: 'input' | 'output' = 'output') => {
  const { $schema: _, ...json } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, override });
  return json;
};
const pathParam = (name: string, schema: z.ZodType) => ({ name, in: 'path', required: true, schema: jsonSchemaOf(schema, 'input') });
const uuidParam = (name: string) => pathParam(name, orderIdParam);
const skuParam = pathParam('sku', skuSchema);
/** The query parameters of a strict query object, each with its own schema (default and bounds included). */
const queryParams = (query: z.ZodObject) =>
  Object.entries(query.shape).map(([name, field]) => {
    const { description, ...schema } = jsonSchemaOf(field as z.ZodType) as { description?: string };
    return { name, in: 'query', ...(field.safeParse(undefined).success ? {} : { required: true }), ...(description ? { description } : {}), schema };
  });
const notFound = problem('No such resource (another customer’s order is indistinguishable from a missing one).', 'not-found');

// Named components: each zod schema is registered under its name, and a registered schema used inside
// another becomes a $ref to it.
const components = z.registry<{ id: string }>();
const named: Record<string, z.ZodType> = {
  Problem: problemSchema,
  PlaceOrder: placeOrderBody,
  UpsertProduct: upsertProductBody,
  OrderItem: responses.orderItemResponse,
  Order: responses.orderResponse,
  OrderPage: responses.orderPageResponse,
  Product: responses.productResponse,
  ProductList: responses.productListResponse,
  StockedProduct: responses.stockedProductResponse,
  StockedProductList: responses.stockedProductListResponse,
  Saga: responses.sagaResponse,
  SagaSummary: responses.sagaSummaryResponse,
  SagaPage: responses.sagaPageResponse,
  Reason: reasonBody,
  ReplayFilter: replayMatchingBody,
  Discard: responses.discardResponse,
  ReplayMatching: responses.replayMatchingResponse.extend({
    skipped: z
      .number()
      .int()
      .describe("Matched but not replayable (a saga's letter, a task that is not JSON): passed over, never counted towards the 1,000; they stay pending"),
    more: z.boolean().describe('The 1,000-letter limit of one request left matching letters to replay: repeat the request (with a new Idempotency-Key)'),
  }),
  AuditRecord: responses.auditResponse,
  CreateApiKey: createApiKeyBody,
  ApiKey: responses.apiKeyResponse,
  CreatedApiKey: responses.createdApiKeyResponse,
  ApiKeyPage: responses.apiKeyPageResponse,
  CreateWebhook: createWebhookBody,
  UpdateWebhook: updateWebhookBody,
  Webhook: responses.webhookResponse,
  CreatedWebhook: responses.webhookCreatedResponse,
  WebhookPage: responses.webhookPageResponse,
  WebhookDelivery: responses.webhookDeliveryResponse,
  WebhookDeliveryPage: responses.webhookDeliveryPageResponse,
  WebhookTest: responses.webhookTestResponse,
  AuditPage: responses.auditPageResponse,
  DeadLetter: responses.deadLetterResponse,
  DeadLetterPage: responses.deadLetterPageResponse,
  Replay: responses.replayResponse,
  Stats: responses.statsResponse,
};
for (const [id, schema] of Object.entries(named)) components.add(schema, { id });
const schemas = z.toJSONSchema(components, { target: 'draft-2020-12', uri: (id) => `#/components/schemas/${id}`, override }).schemas;
for (const schema of Object.values(schemas)) {
  delete schema.$schema;
  delete schema.$id; // a component is named by its place in the document
}

/** The document; `paths` keys use OpenAPI templates ({id}). */
export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'orderflow',
    version: '1.0.0',
    description:
      'Order processing for a shop. Every write needs an `Idempotency-Key`; errors are RFC 9457 problem+json. ' +
      `Problem \`type\` values are URI references, \`${PROBLEM_PAGES}<type>\`, relative to this API: each resolves to the page describing it. ` +
      'Requests are limited in three layers, shared by every replica: per client address (`per-ip`, `RATE_LIMIT_PER_IP_PER_MINUTE`, default 1,000 a minute; ' +
      "a flood of bad credentials is refused by address), per caller (`per-caller`: a token's `sub`, `RATE_LIMIT_PER_MINUTE`, default 600 a minute; " +
      'an API key, its own `ratePerMinute` or `API_KEY_RATE_PER_MINUTE`, default 100) and a per-caller burst cap (`burst`, `RATE_LIMIT_BURST_PER_SECOND`, default 10 a second). ' +
      'Each answer carries the `RateLimit-Policy` and `RateLimit` fields of every policy that applied; a refusal is 429 with `Retry-After`.',
  },
  servers: [{ url: '/' }],
  security: [{ bearer: [] }, { apiKey: [] }],
  components: {
    securitySchemes: {
      bearer: {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description:
          "HS256 (a shared secret), RS256 or ES256 (a public key, or keys from an identity provider's JWKS endpoint by `kid`); claims `sub` (the caller), `role` (`customer` | `admin`), `exp` required, `email` optional; `iss` and `aud` required with public keys. A claim that is missing or invalid is 401.",
      },
      apiKey: {
        type: 'apiKey',
        in: 'header',
        name: 'X-API-Key',
        description:
          'A partner key (`ofk_…`, created by an admin at POST /v1/admin/api-keys): its own caller, with the scopes it was given: `orders:write` (place and cancel orders), `orders:read` (its own orders), `products:read` (the catalog). A missing scope is 403; an unknown or revoked key 401. Never for /v1/admin.',
      },
    },
    schemas,
  },
  paths: {
    '/openapi.json': {
      get: {
        operationId: 'openApi',
        summary: 'This document',
        tags: ['operations'],
        security: [],
        responses: {
          '200': {
            description: 'OpenAPI 3.1',
            content: json({
              type: 'object',
              required: ['openapi', 'paths'],
              properties: { openapi: { type: 'string', const: '3.1.0' }, paths: { type: 'object' } },
            }),
          },
        },
      },
    },
    [`${PROBLEM_PAGES}{type}`]: {
      get: {
        operationId: 'getProblemType',
        summary: 'What a problem type means and what to do about it',
        tags: ['operations'],
        security: [],
        parameters: [{ name: 'type', in: 'path', required: true, schema: { type: 'string', enum: Object.keys(PROBLEMS) } }],
        responses: {
          '200': { description: 'A short HTML page', content: { 'text/html': { schema: { type: 'string' } } } },
          '404': problem('No such problem type.', 'not-found'),
        },
      },
    },
    '/v1/orders': {
      post: {
        operationId: 'placeOrder',
        summary: 'Place an order',
        parameters: [idempotencyKey],
        requestBody: { required: true, content: json(ref('PlaceOrder')) },
        responses: {
          '202': accepted('Accepted: the saga runs; poll the order for its outcome.'),
          ...writeResponses,
          '422': problem('Same key used for a different request, or an unknown sku.', 'idempotency-key-reused', 'unknown-sku'),
          ...common,
          ...downstream,
        },
      },
      get: {
        operationId: 'listOrders',
        summary: 'List orders, newest first (a customer sees their own, an admin all)',
        parameters: queryParams(listQuery),
        responses: { '200': ok('A page of orders', ref('OrderPage')), '400': problem('Invalid query.', 'validation-failed'), ...common, ...downstream },
      },
    },
    '/v1/orders/{id}': {
      get: {
        operationId: 'getOrder',
        summary: 'Read an order (owner or admin)',
        parameters: [uuidParam('id')],
        responses: { '200': ok('The order', ref('Order')), '404': notFound, ...common, ...downstream },
      },
    },
    '/v1/orders/{id}/cancel': {
      post: {
        operationId: 'cancelOrder',
        summary: 'Cancel a PENDING or CONFIRMED order (compensations release its stock)',
        parameters: [uuidParam('id'), idempotencyKey],
        responses: {
          '202': accepted(
            'Accepted: the order as it was when the cancel was taken (PENDING or CONFIRMED); it becomes CANCELLED once its stock is released — poll GET /v1/orders/{id}.',
          ),
          '404': notFound,
          ...writeResponses,
          ...common,
          ...downstream,
        },
      },
    },
    '/v1/products': {
      get: { operationId: 'listProducts', summary: 'The catalog', responses: { '200': ok('Every product', ref('ProductList')), ...common, ...downstream } },
    },
    '/v1/products/{sku}': {
      get: {
        operationId: 'getProduct',
        summary: 'One product (served from a cache that stock changes invalidate)',
        parameters: [skuParam],
        responses: { '200': ok('The product', ref('Product')), '404': notFound, ...common, ...downstream },
      },
    },
    '/v1/admin/products': {
      get: {
        operationId: 'listStock',
        summary: 'Every product with its on-hand stock, straight from the inventory service (no cache)',
        responses: { '200': ok('Every product, by sku', ref('StockedProductList')), ...adminOnly, ...common, ...downstream },
      },
    },
    '/v1/admin/products/{sku}': {
      put: {
        operationId: 'upsertProduct',
        summary: 'Create or update a product and set its on-hand stock (audited)',
        parameters: [skuParam, adminIdempotencyKey],
        requestBody: { required: true, content: json(ref('UpsertProduct')) },
        responses: {
          '200': ok('Updated', ref('Product')),
          '201': ok('Created', ref('Product')),
          ...adminWriteResponses,
          '409': adminConflict('Stock below what is already reserved'),
          ...adminOnly,
          ...common,
          ...downstream,
        },
      },
    },
    '/v1/admin/sagas': {
      get: {
        operationId: 'searchSagas',
        summary: 'Search sagas by state, current step, customer and creation time, newest first',
        parameters: queryParams(sagaSearchQuery),
        responses: { '200': ok('A page of sagas', ref('SagaPage')), '400': problem('Invalid query.', 'validation-failed'), ...adminOnly, ...common },
      },
    },
    '/v1/admin/sagas/{orderId}': {
      get: {
        operationId: 'getSaga',
        summary: 'An order’s saga: where it stands, its timeline, its facts and e-mail tasks, its dead letters',
        parameters: [uuidParam('orderId')],
        responses: { '200': ok('The saga', ref('Saga')), '404': notFound, ...adminOnly, ...common },
      },
    },
    '/v1/admin/sagas/{orderId}/retry': {
      post: {
        operationId: 'retrySaga',
        summary: 'Run a saga now: one waiting out a retry, or one whose runner died (audited)',
        parameters: [uuidParam('orderId'), adminIdempotencyKey],
        responses: {
          '202': ok('Taken: the saga as it stood; it runs now (poll it)', ref('SagaSummary')),
          '404': notFound,
          '409': adminConflict('The saga has ended'),
          ...adminWriteResponses,
          ...adminOnly,
          ...common,
        },
      },
    },
    '/v1/admin/sagas/{orderId}/cancel': {
      post: {
        operationId: 'cancelSaga',
        summary: 'Cancel an order as an operator, with a reason: the same compensations as a customer’s cancel (audited)',
        parameters: [uuidParam('orderId'), adminIdempotencyKey],
        requestBody: { required: true, content: json(ref('Reason')) },
        responses: {
          '202': ok('Taken: the saga compensating; the order becomes CANCELLED once its stock is released', ref('SagaSummary')),
          '404': notFound,
          '409': adminConflict('The order is rejected, cancelled, being rejected or already being cancelled'),
          ...adminWriteResponses,
          ...adminOnly,
          ...common,
        },
      },
    },
    '/v1/admin/dead-letters': {
      get: {
        operationId: 'listDeadLetters',
        summary: 'Dead letters (Kafka, RabbitMQ, saga) matching the filters, newest first',
        parameters: queryParams(deadLetterQuery),
        responses: {
          '200': ok('A page of dead letters', ref('DeadLetterPage')),
          '400': problem('Invalid query.', 'validation-failed'),
          ...adminOnly,
          ...common,
        },
      },
    },
    '/v1/admin/dead-letters/replay': {
      post: {
        operationId: 'replayDeadLetters',
        summary: 'Replay every pending dead letter matching a filter, each once (audited)',
        parameters: [adminIdempotencyKey],
        requestBody: { required: true, content: json(ref('ReplayFilter')) },
        responses: {
          '202': ok('How many matched, were replayed and were skipped, and whether more remain', ref('ReplayMatching')),
          ...adminWriteResponses,
          ...adminOnly,
          ...common,
        },
      },
    },
    '/v1/admin/dead-letters/{id}/replay': {
      post: {
        operationId: 'replayDeadLetter',
        summary: 'Put a dead letter back on its original topic or queue; a second replay has no effect (audited)',
        parameters: [uuidParam('id'), adminIdempotencyKey],
        responses: {
          '202': ok('Replayed (or already replayed before)', ref('Replay')),
          '404': notFound,
          '409': adminConflict('Not replayable (a saga dead letter, not JSON, or discarded)'),
          ...adminWriteResponses,
          ...adminOnly,
          ...common,
        },
      },
    },
    '/v1/admin/dead-letters/{id}/discard': {
      post: {
        operationId: 'discardDeadLetter',
        summary: 'Set a dead letter aside without replaying it, with a reason (audited); retention purges it later',
        parameters: [uuidParam('id'), adminIdempotencyKey],
        requestBody: { required: true, content: json(ref('Reason')) },
        responses: {
          '200': ok('Discarded (or already discarded before)', ref('Discard')),
          '404': notFound,
          '409': adminConflict('Already replayed'),
          ...adminWriteResponses,
          ...adminOnly,
          ...common,
        },
      },
    },
    '/v1/admin/api-keys': {
      post: {
        operationId: 'createApiKey',
        summary: 'Create a partner API key; the key is in this answer only (audited)',
        security: [{ bearer: [] }],
        parameters: [adminIdempotencyKey],
        requestBody: { required: true, content: json(ref('CreateApiKey')) },
        responses: { '201': ok('Created: send `key` as `X-API-Key`', ref('CreatedApiKey')), ...adminWriteResponses, ...adminOnly, ...common },
      },
      get: {
        operationId: 'listApiKeys',
        summary: 'Partner API keys, newest first, revoked ones included (never their secrets)',
        security: [{ bearer: [] }],
        parameters: queryParams(listQuery),
        responses: { '200': ok('A page of keys', ref('ApiKeyPage')), '400': problem('Invalid query.', 'validation-failed'), ...adminOnly, ...common },
      },
    },
    '/v1/admin/api-keys/{id}': {
      delete: {
        operationId: 'revokeApiKey',
        summary: 'Revoke a partner API key: refused on every replica from the answer on (audited)',
        security: [{ bearer: [] }],
        parameters: [uuidParam('id'), adminIdempotencyKey],
        responses: {
          '204': { description: 'Revoked (or revoked before)', headers: rateLimitHeaders },
          '404': notFound,
          '400': adminWriteResponses['400'],
          '422': adminWriteResponses['422'],
          ...adminOnly,
          ...common,
        },
      },
    },
    '/v1/admin/webhooks': {
      post: {
        operationId: 'createWebhook',
        summary: 'Subscribe a partner URL to fact types; the signing secret is in this answer only (audited)',
        description:
          'Each matching fact is POSTed to `url` as its CloudEvent (structured mode, `content-type: application/cloudevents+json`), signed per the Standard Webhooks ' +
          'specification: `webhook-id` (the event id: de-duplicate on it), `webhook-timestamp`, `webhook-signature` (`v1,<base64 HMAC-SHA256>` with the `whsec_` secret). ' +
          '2xx is delivered; 410 disables the subscription; anything else, a redirect (never followed) or no answer within `WEBHOOK_TIMEOUT_MS` is retried after 1 s, 4 s ' +
          'and 16 s, then dead-lettered (replay it from /v1/admin/dead-letters). The URL must be https to a host whose addresses are all public (unless the server sets `WEBHOOK_ALLOW_PRIVATE`).',
        security: [{ bearer: [] }],
        parameters: [adminIdempotencyKey],
        requestBody: { required: true, content: json(ref('CreateWebhook')) },
        responses: {
          '201': ok('Subscribed: keep `secret` to verify deliveries (a replay with the same Idempotency-Key answers it again)', ref('CreatedWebhook')),
          ...adminWriteResponses,
          '400': problem(
            'Invalid body (an unknown event type, a URL that is not https or reaches a private address) or Idempotency-Key.',
            'validation-failed',
            'malformed-json',
            'idempotency-key-missing',
            'idempotency-key-invalid',
          ),
          ...adminOnly,
          ...common,
        },
      },
      get: {
        operationId: 'listWebhooks',
        summary: 'Webhook subscriptions, newest first (never their secrets)',
        security: [{ bearer: [] }],
        parameters: queryParams(listQuery),
        responses: { '200': ok('A page of subscriptions', ref('WebhookPage')), '400': problem('Invalid query.', 'validation-failed'), ...adminOnly, ...common },
      },
    },
    '/v1/admin/webhooks/{id}': {
      get: {
        operationId: 'getWebhook',
        summary: 'One webhook subscription (never its secret)',
        security: [{ bearer: [] }],
        parameters: [uuidParam('id')],
        responses: { '200': ok('The subscription', ref('Webhook')), '404': notFound, ...adminOnly, ...common },
      },
      patch: {
        operationId: 'updateWebhook',
        summary: 'Change a subscription’s URL, events, description or enabled flag; `enabled: true` re-enables one a 410 disabled (audited)',
        security: [{ bearer: [] }],
        parameters: [uuidParam('id'), adminIdempotencyKey],
        requestBody: { required: true, content: json(ref('UpdateWebhook')) },
        responses: { '200': ok('The subscription as changed', ref('Webhook')), '404': notFound, ...adminWriteResponses, ...adminOnly, ...common },
      },
      delete: {
        operationId: 'deleteWebhook',
        summary: 'Delete a subscription and its deliveries; deliveries still queued for it are dropped (audited)',
        security: [{ bearer: [] }],
        parameters: [uuidParam('id'), adminIdempotencyKey],
        responses: {
          '204': { description: 'Deleted', headers: rateLimitHeaders },
          '404': notFound,
          '400': adminWriteResponses['400'],
          '422': adminWriteResponses['422'],
          ...adminOnly,
          ...common,
        },
      },
    },
    '/v1/admin/webhooks/{id}/test': {
      post: {
        operationId: 'testWebhook',
        summary: 'Send a `webhook.ping` CloudEvent to the subscription through the same signed delivery path (audited)',
        security: [{ bearer: [] }],
        parameters: [uuidParam('id'), adminIdempotencyKey],
        responses: {
          '202': ok('Queued: follow it in the deliveries', ref('WebhookTest')),
          '404': notFound,
          '409': adminConflict('The subscription is disabled'),
          '400': adminWriteResponses['400'],
          '422': adminWriteResponses['422'],
          ...adminOnly,
          ...common,
        },
      },
    },
    '/v1/admin/webhooks/{id}/deliveries': {
      get: {
        operationId: 'listWebhookDeliveries',
        summary: 'A subscription’s deliveries, newest first: status, attempts, last status code and error, times',
        security: [{ bearer: [] }],
        parameters: [uuidParam('id'), ...queryParams(listQuery)],
        responses: {
          '200': ok('A page of deliveries', ref('WebhookDeliveryPage')),
          '400': problem('Invalid query.', 'validation-failed'),
          '404': notFound,
          ...adminOnly,
          ...common,
        },
      },
    },
    '/v1/admin/audit': {
      get: {
        operationId: 'listAudit',
        summary: 'Every admin action, newest first: who, what, on what, when, and how it ended',
        parameters: queryParams(auditQuery),
        responses: { '200': ok('A page of the audit log', ref('AuditPage')), '400': problem('Invalid query.', 'validation-failed'), ...adminOnly, ...common },
      },
    },
    '/v1/admin/stats': {
      get: {
        operationId: 'getStats',
        summary: 'Orders by status, sagas in flight and ended per minute, dead letters, outbox lag, dependencies',
        responses: { '200': ok('Stats', ref('Stats')), ...adminOnly, ...common },
      },
    },
  },
} as const;
