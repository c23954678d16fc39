// The environment both benchmark peers' servers read the same way; their adapters set it (PORT,
// DATABASE_URL, JWT_SECRET, MAIL_DIR), the round's env may set the rest.
import { z } from 'zod';
import { env, postgresEnv } from '@orderflow/config';

/** A setting without a default: the adapter always sets it, so a missing one is a bug worth stopping for. */
export const required = (description: string) => z.string({ error: 'is required' }).min(1, 'is required').describe(description);

export const postgresUrl = (description: string) => required(description).refine((v) => /^postgres(ql)?:\/\//.test(v), 'expected a postgres:// URL');

export const peerEnv = {
  JWT_SECRET: required('HS256 secret of the bearer tokens'),
  MAIL_DIR: required('Directory the .eml files are written to'),
  LOG_LEVEL: env.logLevel().default('warn'),
  MAIL_FROM: env.string('orderflow <orders@orderflow.local>', 'From address of every e-mail'),
  ...postgresEnv,
};
