import { databaseUrl, dropDatabase, migrate, type Service } from '@orderflow/db';
import { testInfra } from './infra';
import { uniqueName } from './isolation';

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A fresh, migrated database for one service, owned by the calling test file. */
export async function createTestDatabase(service: Service, label: string = service): Promise<TestDatabase> {
  const { databaseUrl: serverUrl } = testInfra();
  const name = uniqueName(label);
  await migrate({ serverUrl, service, databaseName: name });
  return { name, url: databaseUrl(serverUrl, name), drop: () => dropDatabase(serverUrl, name) };
}
