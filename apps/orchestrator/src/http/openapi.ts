// The OpenAPI 3.1 description of the public API, served at /openapi.json and rendered at /docs.
// e2e/openapi.test.ts checks real responses of every documented operation and status against it.
import { PROBLEMS, PROBLEM_BASE } from './problem';

const json = (schema: object) => ({ 'application/json': { schema } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
/** An error response: problem+json whose `type` is one of `types` (all of one status). */
const problem = (description: string, ...types: (keyof typeof PROBLEMS)[]) => {
  const status = PROBLEMS[types[0]!].status;
  if (types.some((t) => PROBLEMS[t].status !== status)) throw new Error(`problem types of different statuses: ${types.join(', ')}`);
  return {
    description: `${description} Problem types: ${types.map((t) => `\`${PROBLEM_BASE}${t}\``).join(', ')}.`,
    content: {
      'application/problem+json': {
        schema: { allOf: [ref('Problem')], properties: { type: { enum: types.map((t) => `${PROBLEM_BASE}${t}`) }, status: { const: status } } },
      },
    },
  };
};

// Structured Fields of draft-ietf-httpapi-ratelimit-headers-11 (one String item with Integer parameters).
const rateLimitHeaders = {
  'RateLimit-Policy': {
    description: 'The caller\'s quota policy: `q` requests per `w` seconds, e.g. `"per-caller";q=600;w=60`',
    required: true,
    schema: { type: 'string', pattern: '^"per-caller";q=[0-9]+;w=[0-9]+$' },
  },
  RateLimit: {
    description: 'What is left of it: `r` requests remain for the next `t` seconds, e.g. `"per-caller";r=0;t=42`',
    required: true,
    schema: { type: 'string', pattern: '^"per-caller";r=[0-9]+;t=[0-9]+$' },
  },
};
const retryAfter = { 'Retry-After': { description: 'Seconds to wait before retrying', required: true, schema: { type: 'string', pattern: '^[0-9]+$' } } };
// Every /v1 operation: a token is checked first, then the caller's rate limit. No operation documents
// 500: an unexpected error is answered as problem+json `internal` with no details, and is a bug.
const common = {
  '401': problem('Missing, malformed, expired or badly signed token.', 'unauthorized'),
  '429': { ...problem('Over the per-caller rate limit; retry after `Retry-After` seconds.', 'rate-limited'), headers: { ...retryAfter, ...rateLimitHeaders } },
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
const accepted = (description: string) => ({
  description,
  headers: {
    Location: { description: 'The order', required: true, schema: { type: 'string', pattern: '^/v1/orders/[0-9a-f-]{36}$' } },
    'Idempotent-Replayed': { description: '`true` when this is a stored answer to an earlier request with the same key', schema: { type: 'string', enum: ['true'] } },
    ...rateLimitHeaders,
  },
  content: json(ref('Order')),
});
const ok = (description: string, schema: object) => ({ description, headers: rateLimitHeaders, content: json(schema) });
const uuidParam = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string', format: 'uuid' } });
const skuParam = { name: 'sku', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' } };
const page = (max: number) => [
  { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: max, default: max === 100 ? 20 : 50 } },
  { name: 'cursor', in: 'query', schema: { type: 'string' }, description: 'The `nextCursor` of the previous page' },
];
const notFound = problem('No such resource (another customer’s order is indistinguishable from a missing one).', 'not-found');

const timestamp = { type: 'string', format: 'date-time' };
const byteEncoding = {
  type: 'string',
  enum: ['utf8', 'base64'],
  description: '`utf8`: the bytes are UTF-8 text (no control characters but tab, LF, CR), shown as is; `base64`: any other bytes, in base64',
};
const schemas = {
  Problem: {
    type: 'object',
    required: ['type', 'title', 'status'],
    properties: { type: { type: 'string', format: 'uri' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' }, instance: { type: 'string' }, errors: { type: 'array' } },
  },
  OrderLine: {
    type: 'object',
    additionalProperties: false,
    required: ['sku', 'quantity'],
    properties: { sku: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' }, quantity: { type: 'integer', minimum: 1, maximum: 1000 } },
  },
  PlaceOrder: { type: 'object', additionalProperties: false, required: ['items'], properties: { items: { type: 'array', minItems: 1, maxItems: 100, items: ref('OrderLine') } } },
  OrderItem: {
    type: 'object',
    additionalProperties: false,
    required: ['sku', 'quantity', 'unitPriceCents'],
    properties: { sku: { type: 'string' }, quantity: { type: 'integer' }, unitPriceCents: { type: 'integer', minimum: 0 } },
  },
  Order: {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'customerId', 'status', 'items', 'totalCents', 'createdAt', 'updatedAt'],
    properties: {
      id: { type: 'string', format: 'uuid' },
      customerId: { type: 'string' },
      status: { type: 'string', enum: ['PENDING', 'CONFIRMED', 'REJECTED', 'CANCELLED'] },
      items: { type: 'array', items: ref('OrderItem') },
      totalCents: { type: 'integer', minimum: 0 },
      reason: { type: 'string', description: '`OUT_OF_STOCK` or `PROCESSING_FAILED` for a rejected order' },
      createdAt: timestamp,
      updatedAt: timestamp,
    },
  },
  OrderPage: { type: 'object', additionalProperties: false, required: ['items', 'nextCursor'], properties: { items: { type: 'array', items: ref('Order') }, nextCursor: { type: ['string', 'null'] } } },
  Product: {
    type: 'object',
    additionalProperties: false,
    required: ['sku', 'name', 'priceCents', 'available'],
    properties: { sku: { type: 'string' }, name: { type: 'string' }, priceCents: { type: 'integer', minimum: 0 }, available: { type: 'integer', minimum: 0 } },
  },
  ProductList: { type: 'object', additionalProperties: false, required: ['items'], properties: { items: { type: 'array', items: ref('Product') } } },
  UpsertProduct: {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'priceCents', 'stock'],
    properties: { name: { type: 'string', minLength: 1, maxLength: 200 }, priceCents: { type: 'integer', minimum: 0 }, stock: { type: 'integer', minimum: 0, description: 'On-hand stock to set' } },
  },
  Saga: {
    type: 'object',
    additionalProperties: false,
    required: ['orderId', 'state', 'currentStep', 'attempts', 'nextAttemptAt', 'compensations', 'cancelRequested', 'outcome', 'lastError', 'createdAt', 'updatedAt', 'steps'],
    properties: {
      orderId: { type: 'string', format: 'uuid' },
      state: { type: 'string', enum: ['RUNNING', 'COMPENSATING', 'COMPLETED', 'FAILED'] },
      currentStep: { type: 'string' },
      attempts: { type: 'integer' },
      nextAttemptAt: { type: ['string', 'null'], format: 'date-time' },
      compensations: { type: 'array', items: { type: 'string' } },
      cancelRequested: { type: 'boolean' },
      outcome: { type: ['string', 'null'] },
      lastError: { type: ['string', 'null'] },
      createdAt: timestamp,
      updatedAt: timestamp,
      steps: {
        type: 'array',
        items: { type: 'object', required: ['step', 'outcome', 'attempt', 'at'], properties: { step: { type: 'string' }, outcome: { type: 'string' }, attempt: { type: 'integer' }, detail: { type: 'string' }, at: timestamp } },
      },
    },
  },
  DeadLetter: {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'source', 'origin', 'payload', 'payloadEncoding', 'headers', 'base64Headers', 'error', 'attempts', 'firstFailedAt', 'lastFailedAt', 'createdAt', 'replayable'],
    properties: {
      id: { type: 'string', format: 'uuid' },
      source: { type: 'string', enum: ['kafka', 'rabbitmq', 'saga'] },
      origin: { type: 'string', description: 'Topic, queue or saga step it came from' },
      key: { type: 'string', description: 'The message key (Kafka key, task correlation id, saga order id), encoded as `keyEncoding` says' },
      keyEncoding: byteEncoding,
      messageId: { type: 'string' },
      payload: { type: 'string', description: 'The message exactly as received, encoded as `payloadEncoding` says; replay sends these bytes' },
      payloadEncoding: byteEncoding,
      headers: { type: 'object', additionalProperties: { type: 'string' }, description: 'Header values as text; those named in `base64Headers` are base64 of their bytes' },
      base64Headers: { type: 'array', items: { type: 'string' }, description: 'Headers whose value is not text and is shown as base64' },
      error: { type: 'string', description: 'Why it was dead-lettered; starts with `placeholder:` when the letter could not be stored as received (its headers are then not kept)' },
      attempts: { type: 'integer' },
      firstFailedAt: timestamp,
      lastFailedAt: timestamp,
      replayedAt: timestamp,
      createdAt: timestamp,
      replayable: { type: 'boolean' },
    },
  },
  DeadLetterPage: { type: 'object', required: ['items', 'nextCursor'], properties: { items: { type: 'array', items: ref('DeadLetter') }, nextCursor: { type: ['string', 'null'] } } },
  Replay: { type: 'object', required: ['id', 'replayed', 'alreadyReplayed'], properties: { id: { type: 'string' }, replayed: { type: 'boolean' }, alreadyReplayed: { type: 'boolean' } } },
  Stats: {
    type: 'object',
    required: ['ordersByStatus', 'sagasInFlight', 'deadLetters', 'outbox'],
    properties: {
      ordersByStatus: { type: 'object', additionalProperties: { type: 'integer' } },
      sagasInFlight: { type: 'integer' },
      deadLetters: { type: 'object', required: ['total', 'bySource'], properties: { total: { type: 'integer' }, bySource: { type: 'object' } } },
      outbox: { type: 'object', required: ['unpublished', 'oldestAgeSeconds'], properties: { unpublished: { type: 'integer' }, oldestAgeSeconds: { type: 'number' } } },
    },
  },
};

/** The document; `paths` keys use OpenAPI templates ({id}). */
export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'orderflow',
    version: '1.0.0',
    description:
      'Order processing for a shop. Every write needs an `Idempotency-Key`; errors are RFC 9457 problem+json. ' +
      'Requests are limited per caller (`RATE_LIMIT_PER_MINUTE`, default 600, a whole minute may be spent at once); each answer carries the `RateLimit-Policy` and `RateLimit` headers.',
  },
  servers: [{ url: '/' }],
  security: [{ bearer: [] }],
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'HS256 or RS256; claims `sub` (customer id), `role` (`customer` | `admin`), `exp` required.' } },
    schemas,
  },
  paths: {
    '/openapi.json': {
      get: { operationId: 'openApi', summary: 'This document', tags: ['operations'], security: [], responses: { '200': { description: 'OpenAPI 3.1', content: json({ type: 'object', required: ['openapi', 'paths'] }) } } },
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
        parameters: page(100),
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
        responses: { '202': accepted('Accepted: the order as it was when the cancel was taken (PENDING or CONFIRMED); it becomes CANCELLED once its stock is released — poll GET /v1/orders/{id}.'), '404': notFound, ...writeResponses, ...common, ...downstream },
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
    '/v1/admin/products/{sku}': {
      put: {
        operationId: 'upsertProduct',
        summary: 'Create or update a product and set its on-hand stock',
        parameters: [skuParam],
        requestBody: { required: true, content: json(ref('UpsertProduct')) },
        responses: {
          '200': ok('Updated', ref('Product')),
          '201': ok('Created', ref('Product')),
          '400': problem('Invalid body.', 'validation-failed', 'malformed-json'),
          '409': problem('Stock below what is already reserved.', 'conflict'),
          '413': writeResponses['413'],
          '415': writeResponses['415'],
          ...adminOnly,
          ...common,
          ...downstream,
        },
      },
    },
    '/v1/admin/sagas/{orderId}': {
      get: {
        operationId: 'getSaga',
        summary: 'Where an order’s saga stands: state, step, attempts, next attempt, step log',
        parameters: [uuidParam('orderId')],
        responses: { '200': ok('The saga', ref('Saga')), '404': notFound, ...adminOnly, ...common },
      },
    },
    '/v1/admin/dead-letters': {
      get: {
        operationId: 'listDeadLetters',
        summary: 'Every dead letter (Kafka, RabbitMQ, saga), newest first',
        parameters: page(200),
        responses: { '200': ok('A page of dead letters', ref('DeadLetterPage')), '400': problem('Invalid query.', 'validation-failed'), ...adminOnly, ...common },
      },
    },
    '/v1/admin/dead-letters/{id}/replay': {
      post: {
        operationId: 'replayDeadLetter',
        summary: 'Put a dead letter back on its original topic or queue; a second replay has no effect',
        parameters: [uuidParam('id')],
        responses: { '202': ok('Replayed (or already replayed before)', ref('Replay')), '404': notFound, '409': problem('Not replayable (a saga dead letter, or not JSON).', 'conflict'), ...adminOnly, ...common },
      },
    },
    '/v1/admin/stats': {
      get: { operationId: 'getStats', summary: 'Orders by status, sagas in flight, dead letters, outbox lag', responses: { '200': ok('Stats', ref('Stats')), ...adminOnly, ...common } },
    },
  },
} as const;
