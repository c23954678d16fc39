import pg from 'pg';
import { testInfra, uniqueName } from '@orderflow/testing';
import { databaseUrl, dropDatabase, migrate, SERVICES } from './index';

async function tables(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'pgmigrations' ORDER BY 1",
    );
    return rows.map((r) => r.table_name);
  } finally {
    await client.end();
  }
}

describe.each(SERVICES)('migrations of the %s database', (service) => {
  const { databaseUrl: serverUrl } = testInfra();
  const name = uniqueName(`mig_${service}`);
  afterAll(() => dropDatabase(serverUrl, name));

  it('create the database, go up, all the way down, and up again to the same schema', async () => {
    const up = await migrate({ serverUrl, service, databaseName: name });
    expect(up.length).toBeGreaterThan(0);
    const schema = await tables(databaseUrl(serverUrl, name));
    expect(schema.length).toBeGreaterThan(0);

    const down = await migrate({ serverUrl, service, databaseName: name, direction: 'down' });
    expect(down).toEqual([...up].reverse());
    expect(await tables(databaseUrl(serverUrl, name))).toEqual([]);

    expect(await migrate({ serverUrl, service, databaseName: name })).toEqual(up);
    expect(await tables(databaseUrl(serverUrl, name))).toEqual(schema);
    // Up again with nothing pending applies nothing.
    expect(await migrate({ serverUrl, service, databaseName: name })).toEqual([]);
  });
});
