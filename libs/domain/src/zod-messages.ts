import { z } from 'zod';

// zod 4 words its default messages differently from zod 3 ("Invalid input: expected number, received
// string" for "Expected number, received string"). Clients, operators and logs see these messages
// (problem+json `detail`, gRPC INVALID_ARGUMENT, invalid tasks), so zod 3's wording is kept for every
// issue a schema does not give a message of its own. Installed once, by importing @orderflow/domain.

type Issue = z.core.$ZodRawIssue;

/** zod 3's name of a value's type ("nan", "null", "array", …). */
function typeName(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'array';
  if (typeof input === 'number') return Number.isNaN(input) ? 'nan' : 'number';
  if (input instanceof Date) return 'date';
  if (input instanceof Map) return 'map';
  if (input instanceof Set) return 'set';
  if (input instanceof Promise) return 'promise';
  return typeof input;
}

const quoted = (values: readonly unknown[], separator = ' | ') => values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v))).join(separator);
// zod 4 calls the safe-integer check "int"/"safeint"; zod 3 said "integer".
const expectedName = (expected: string) => (expected === 'int' || expected === 'safeint' ? 'integer' : expected);
const FORMAT_NAMES: Record<string, string> = { guid: 'uuid', uuid: 'uuid', email: 'email', datetime: 'datetime', url: 'url', date: 'date', time: 'time' };

function sizeMessage(issue: Extract<Issue, { code: 'too_small' | 'too_big' }>): string | undefined {
  const small = issue.code === 'too_small';
  const bound = small ? (issue as { minimum: unknown }).minimum : (issue as { maximum: unknown }).maximum;
  const { exact, inclusive } = issue;
  switch (issue.origin) {
    case 'array':
    case 'set':
      return `Array must contain ${exact ? 'exactly' : inclusive ? (small ? 'at least' : 'at most') : small ? 'more than' : 'less than'} ${bound} element(s)`;
    case 'string':
      return `String must contain ${exact ? 'exactly' : inclusive ? (small ? 'at least' : 'at most') : small ? 'over' : 'under'} ${bound} character(s)`;
    case 'number':
    case 'int':
    case 'bigint':
      if (small) return `Number must be ${exact ? 'exactly equal to ' : inclusive ? 'greater than or equal to ' : 'greater than '}${bound}`;
      return `Number must be ${exact ? 'exactly' : inclusive ? 'less than or equal to' : 'less than'} ${bound}`;
    default:
      return undefined;
  }
}

/** zod 3's default message for `issue`; undefined leaves zod 4's. */
export function zod3Message(issue: Issue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'Required';
      if (issue.expected === 'int' || (issue as { format?: string }).format === 'safeint') return 'Expected integer, received float';
      return `Expected ${expectedName(issue.expected)}, received ${typeName(issue.input)}`;
    case 'unrecognized_keys':
      return `Unrecognized key(s) in object: ${quoted(issue.keys, ', ')}`;
    case 'invalid_value':
      if ((issue.inst?._zod.def as { type?: string } | undefined)?.type === 'literal' && issue.values.length === 1)
        return `Invalid literal value, expected ${JSON.stringify(issue.values[0])}`;
      return `Invalid enum value. Expected ${quoted(issue.values)}, received '${String(issue.input)}'`;
    case 'invalid_format':
      if (issue.format === 'regex') return 'Invalid';
      if (issue.format === 'starts_with') return `Invalid input: must start with "${(issue as { prefix?: string }).prefix}"`;
      if (issue.format === 'ends_with') return `Invalid input: must end with "${(issue as { suffix?: string }).suffix}"`;
      if (issue.format === 'includes') return `Invalid input: must include "${(issue as { includes?: string }).includes}"`;
      return `Invalid ${FORMAT_NAMES[issue.format] ?? issue.format}`;
    case 'too_small':
    case 'too_big':
      return sizeMessage(issue);
    case 'not_multiple_of':
      return `Number must be a multiple of ${String(issue.divisor)}`;
    case 'invalid_union':
    case 'custom':
      return 'Invalid input';
    default:
      return undefined;
  }
}

z.config({ customError: zod3Message });
