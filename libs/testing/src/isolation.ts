import { randomBytes } from 'node:crypto';

/**
 * A name no other test run uses: lower-case, starting with a letter, safe as a Postgres database,
 * Kafka topic, RabbitMQ queue or Redis key prefix. Tests derive every resource name from one of these.
 */
export function uniqueName(label = 't'): string {
  const clean =
    label
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, 24) || 't';
  return `${/^[a-z]/.test(clean) ? '' : 't_'}${clean}_${randomBytes(4).toString('hex')}`;
}
