// The architecture's arrows (docs/architecture.md, "Import rules"), checked by `npm run lint`.
const CORE = '^src/notifications/';
const CORE_API = '^src/events/';
const SOURCES = '^src/(orders|payments|system)/';
const DELIVERY = '^src/delivery/';

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A cycle: one of these modules has to give way (move the shared part below both).',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-knows-no-delivery',
      comment:
        'The core (notifications/, events/) does not import delivery/: delivery subscribes to the EscalationPort.',
      severity: 'error',
      from: { path: [CORE, CORE_API] },
      to: { path: DELIVERY },
    },
    {
      name: 'core-knows-no-source',
      comment:
        'The core (notifications/, events/) imports no event source and nothing that lists them (src/sources.ts, app.module.ts): sources plug in through src/events/.',
      severity: 'error',
      from: { path: [CORE, CORE_API] },
      to: { path: [SOURCES, '^src/(sources|app\\.module|main|app\\.factory)\\.ts$', '^src/admin/'] },
    },
    {
      name: 'sources-through-events',
      comment:
        'An event source reaches the core only through its public API, src/events/ (DomainEvents, the catalogue).',
      severity: 'error',
      from: { path: SOURCES },
      to: { path: [CORE, DELIVERY] },
    },
    {
      name: 'delivery-through-what-the-core-exposes',
      comment:
        'Delivery plugs into the core through its port (escalation-port.ts), its module and its shared reads (rows, visibility, preferences, quiet hours), not its internals (streams, feed, bus, publisher).',
      severity: 'error',
      from: { path: DELIVERY },
      to: {
        path: CORE,
        pathNot: `${CORE}(escalation-port|notifications\\.module|notification\\.types|visibility|preferences\\.service|quiet-hours)\\.ts$`,
      },
    },
    {
      name: 'users-below-auth',
      comment: 'auth/ builds on users/; users/ does not import auth/.',
      severity: 'error',
      from: { path: '^src/users/' },
      to: { path: '^src/auth/' },
    },
    {
      name: 'client-imports-nothing-server-side',
      comment: 'The browser client and the page ship on their own: no server code.',
      severity: 'error',
      from: { path: '^(client|public)/' },
      to: { path: '^(src|migrations|test|bench)/' },
    },
    {
      name: 'wire-imports-only-the-registry',
      comment: 'client/wire.ts is types the server imports too; it may import the registry, nothing else.',
      severity: 'error',
      from: { path: '^client/wire\\.ts$' },
      to: { pathNot: '^client/registry\\.ts$' },
    },
    {
      name: 'registry-imports-nothing',
      comment: 'client/registry.ts is loaded by the server, the client and the page alike.',
      severity: 'error',
      from: { path: '^client/registry\\.ts$' },
      to: {},
    },
    {
      name: 'no-tests-in-the-app',
      severity: 'error',
      from: { path: '^(src|client|public|migrations)/' },
      to: { path: '^(test|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a backward arrow is one whether or not it survives compilation.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
  },
};
