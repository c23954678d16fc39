import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

/** A plain JSON-like value as YAML parses it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Every non-empty document of a YAML text, with merge keys (`<<: *anchor`) resolved as Docker Compose
 * does. A syntax error or a duplicate key throws, naming the file and line.
 */
export function parseYamlDocuments(text: string, file: string): Json[] {
  const docs = parseAllDocuments(text, { merge: true, uniqueKeys: true, prettyErrors: true });
  if (!Array.isArray(docs)) throw new Error(`${file}: not a YAML stream`);
  const values: Json[] = [];
  for (const doc of docs) {
    const error = doc.errors[0];
    if (error) throw new Error(`${file}: ${error.message}`);
    const value = doc.toJS({ maxAliasCount: 100 }) as Json;
    if (value !== null && value !== undefined) values.push(value);
  }
  return values;
}

export function readYamlDocuments(file: string): Json[] {
  return parseYamlDocuments(readFileSync(file, 'utf8'), file);
}

/** A file holding exactly one YAML document that is a mapping. */
export function readYamlObject(file: string): JsonObject {
  const docs = readYamlDocuments(file);
  const [doc] = docs;
  if (docs.length !== 1 || !isObject(doc)) throw new Error(`${file}: expected one YAML mapping`);
  return doc;
}
