import { z } from 'zod';

/** A start-up configuration problem; `main` prints the message and exits non-zero. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
}

/** A variable whose value is a credential, judged by its name: never echoed in an error. */
export const isSecretName = (name: string): boolean => /SECRET|PASSWORD|KEY|TOKEN/i.test(name);

// scheme://user:password@ — up to the last '@' of the token, since a mistyped password may hold an unescaped '@' or '/'.
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^\s:@/]*):[^\s]*@/gi;

/**
 * `text` fit for a log or a terminal: URL passwords masked, and the value of every variable of `env`
 * whose name says SECRET, PASSWORD, KEY or TOKEN replaced (values under 4 characters are left, lest
 * every digit of the message goes; such a value is no secret anyway).
 */
export function redactSecrets(text: string, env: NodeJS.ProcessEnv = process.env): string {
  let redacted = text.replace(URL_PASSWORD, '$1:***@');
  for (const [name, value] of Object.entries(env)) {
    if (value && value.length >= 4 && isSecretName(name)) redacted = redacted.split(value).join('***');
  }
  return redacted;
}

/**
 * Parses env into a typed config once, at start-up. Every field's key is the env variable's name, so
 * a failure names the variable: `HTTP_PORT: expected an integer 0-65535, got "abc"`. The value is
 * shown without its secrets (redactSecrets): a secret variable's not at all, a URL without its password.
 */
export function parseEnv<S extends z.ZodRawShape>(shape: S, env: NodeJS.ProcessEnv = process.env): z.infer<z.ZodObject<S>> {
  const result = z.object(shape).safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const name = String(issue.path[0]);
    const value = env[name];
    const got = value === undefined ? 'it is not set' : isSecretName(name) ? 'its value is not shown' : `got ${JSON.stringify(value)}`;
    return `  ${name}: ${issue.message} (${got})`;
  });
  throw new ConfigError(redactSecrets(`invalid configuration:\n${lines.join('\n')}`, env));
}

/** Field builders with the messages an operator needs. */
export const env = {
  port: (fallback: number, description: string) =>
    z.coerce
      .number({ message: 'expected a port number' })
      .int('expected an integer port 0-65535')
      .min(0, 'expected a port 0-65535')
      .max(65535, 'expected a port 0-65535')
      .default(fallback)
      .describe(description),
  int: (fallback: number, min: number, max: number, description: string) =>
    z.coerce
      .number({ message: 'expected a number' })
      .int(`expected an integer ${min}-${max}`)
      .min(min, `expected an integer ${min}-${max}`)
      .max(max, `expected an integer ${min}-${max}`)
      .default(fallback)
      .describe(description),
  /** An integer that may be unset, e.g. a per-downstream override of a shared default (the caller falls back). */
  optionalInt: (min: number, max: number, description: string) =>
    z
      .preprocess(
        (v) => (v === '' ? undefined : v),
        z.coerce
          .number({ message: 'expected a number' })
          .int(`expected an integer ${min}-${max}`)
          .min(min, `expected an integer ${min}-${max}`)
          .max(max, `expected an integer ${min}-${max}`)
          .optional(),
      )
      .describe(description),
  number: (fallback: number, min: number, max: number, description: string) =>
    z.coerce
      .number({ message: 'expected a number' })
      .min(min, `expected a number ${min}-${max}`)
      .max(max, `expected a number ${min}-${max}`)
      .default(fallback)
      .describe(description),
  url: (fallback: string, protocols: string[], description: string) =>
    z
      .string()
      .default(fallback)
      .refine(
        (value) => {
          try {
            return protocols.includes(new URL(value).protocol.replace(/:$/, ''));
          } catch {
            return false;
          }
        },
        `expected a URL starting with ${protocols.map((p) => `${p}://`).join(' or ')}`,
      )
      .describe(description),
  brokers: (fallback: string, description: string) =>
    z
      .string()
      .default(fallback)
      .transform((value) =>
        value
          .split(',')
          .map((b) => b.trim())
          .filter(Boolean),
      )
      .refine((list) => list.length > 0 && list.every((b) => /^[^\s:]+:\d{1,5}$/.test(b)), 'expected host:port[,host:port…]')
      .describe(description),
  string: (fallback: string, description: string) => z.string().default(fallback).describe(description),
  flag: (fallback: boolean, description: string) =>
    z
      .enum(['true', 'false'], { message: 'expected true or false' })
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true')
      .describe(description),
  choice: <T extends string>(values: readonly [T, ...T[]], description: string) =>
    z.preprocess((v) => (v === '' ? undefined : v), z.enum(values, { message: `expected one of ${values.join(', ')}` }).optional()).describe(description),
  // An empty value counts as unset (how shells and compose files usually clear a variable).
  optionalString: (description: string) => z.preprocess((v) => (v === '' ? undefined : v), z.string().min(1).optional()).describe(description),
  name: (fallback: string, description: string) =>
    z
      .string()
      .default(fallback)
      .refine((v) => /^[a-z0-9_]*$/.test(v), 'expected lower-case letters, digits and underscores')
      .describe(description),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('pino log level'),
};
