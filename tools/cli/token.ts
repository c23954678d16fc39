import { parseArgs } from 'node:util';
import jwt from 'jsonwebtoken';

/** `token --sub id --role customer|admin [--ttl 12h]`: prints one HS256 JWT signed with JWT_SECRET. */
export async function tokenCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { sub: { type: 'string' }, role: { type: 'string' }, ttl: { type: 'string' } } });
  const secret = process.env.JWT_SECRET;
  if (!secret) throw new Error('token: JWT_SECRET is not set (make token reads it from .env or .env.example)');
  if (!values.sub) throw new Error('token: SUB is required, e.g. make token SUB=alice ROLE=customer');
  const role = values.role ?? 'customer';
  if (role !== 'customer' && role !== 'admin') throw new Error(`token: ROLE must be customer or admin, not "${role}"`);
  const options: jwt.SignOptions = { algorithm: 'HS256', expiresIn: (values.ttl ?? '12h') as jwt.SignOptions['expiresIn'] };
  if (process.env.JWT_ISSUER) options.issuer = process.env.JWT_ISSUER;
  if (process.env.JWT_AUDIENCE) options.audience = process.env.JWT_AUDIENCE;
  process.stdout.write(`${jwt.sign({ sub: values.sub, role }, secret, options)}\n`);
}
