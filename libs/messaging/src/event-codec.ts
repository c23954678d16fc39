import type { IHeaders } from 'kafkajs';
import { cloudEventSchema, type CloudEvent } from '@orderflow/domain';

/** Content type of a structured-mode CloudEvent (CloudEvents Kafka binding). */
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json; charset=UTF-8';

export type DecodedEvent = { ok: true; event: CloudEvent } | { ok: false; error: string };

/** Parses and validates a message value; a failure is permanent (dead-letter it, don't retry). */
export function decodeCloudEvent(value: Buffer | string | null): DecodedEvent {
  if (value === null) return { ok: false, error: 'message has no value' };
  let json: unknown;
  try {
    json = JSON.parse(value.toString());
  } catch (error) {
    return { ok: false, error: `value is not JSON: ${(error as Error).message}` };
  }
  const result = cloudEventSchema.safeParse(json);
  if (result.success) return { ok: true, event: result.data };
  return { ok: false, error: result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') };
}

/** First value of a Kafka header as a string, or undefined. */
export function headerValue(headers: IHeaders | undefined, name: string): string | undefined {
  const raw = headers?.[name];
  const first = Array.isArray(raw) ? raw[0] : raw;
  return first === undefined ? undefined : first.toString();
}
