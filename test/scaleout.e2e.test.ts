import { scaleoutSuite } from './support/scaleout-suite.js';

// Real processes on the default bus: Postgres LISTEN/NOTIFY.
scaleoutSuite('postgres', async () => undefined);
