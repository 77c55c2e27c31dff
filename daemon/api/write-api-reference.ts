// `npm run docs:api`: writes docs/api-reference.md from the API's route schemas (api-reference.ts).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../util/index.ts';
import { API_REFERENCE, documentedRoutes, renderApiReference } from './api-reference.ts';

const file = join(PACKAGE_ROOT, API_REFERENCE);
writeFileSync(file, renderApiReference(await documentedRoutes()));
console.log(`wrote ${API_REFERENCE}`);
