// `make asyncapi`: writes docs/asyncapi.yaml from the code (document.ts). Bundled to dist/asyncapi/main.js.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@orderflow/config';
import { ASYNCAPI_PATH, asyncApiYaml } from './document';

asyncApiYaml()
  .then((yaml) => {
    writeFileSync(join(repoRoot(), ASYNCAPI_PATH), yaml);
    process.stdout.write(`wrote ${ASYNCAPI_PATH}\n`);
  })
  .catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
