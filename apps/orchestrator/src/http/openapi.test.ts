import { openApiDocument } from './openapi';
import { PROBLEMS } from './problem';

const doc = openApiDocument as any;
const params = (path: string, method: string) => Object.fromEntries(doc.paths[path][method].parameters.map((p: any) => [p.name, p]));

describe('the OpenAPI document', () => {
  it('the OpenAPI document declares the zod limits (priceCents ≤ 1e11, stock ≤ 1e9, cursor ≤ 200)', () => {
    const upsert = doc.components.schemas.UpsertProduct.properties;
    expect(upsert.priceCents).toMatchObject({ type: 'integer', minimum: 0, maximum: 1e11 });
    expect(upsert.stock).toMatchObject({ type: 'integer', minimum: 0, maximum: 1e9 });
    expect(params('/v1/orders', 'get').cursor.schema).toMatchObject({ type: 'string', maxLength: 200 });
    expect(params('/v1/admin/dead-letters', 'get').cursor.schema).toMatchObject({ type: 'string', maxLength: 200 });
    expect(params('/v1/orders', 'get').limit.schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 100, default: 20 });
    expect(params('/v1/admin/dead-letters', 'get').limit.schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 200, default: 50 });
  });

  it('describes validation errors as RFC 9457 `errors` with a JSON Pointer or a parameter name', () => {
    const errors = doc.components.schemas.Problem.properties.errors;
    expect(errors.items).toMatchObject({
      required: ['detail'],
      properties: { detail: { type: 'string' }, pointer: { type: 'string' }, parameter: { type: 'string' } },
    });
  });

  it('documents the page of every problem type', () => {
    expect(doc.paths['/problems/{type}'].get.parameters[0].schema.enum).toEqual(Object.keys(PROBLEMS));
  });
});
