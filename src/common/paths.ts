import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);

/**
 * The project's root directory, whether this module runs compiled
 * (dist/src/common/paths.js, as `npm start` runs it) or from source
 * (src/common/paths.ts, as Jest's ts-jest runs it).
 */
export const PROJECT_ROOT = here.slice(0, here.lastIndexOf('/src/common/')).replace(/\/dist$/, '');

/** The directory of the compiled output (the browser client and page are served from there). */
export const DIST = `${PROJECT_ROOT}/dist`;
