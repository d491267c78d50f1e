// The architecture's arrows (docs/architecture.md, "Import rules"), checked by `npm run lint`.
const CORE = '^src/notifications/';
const CORE_API = '^src/events/';
const SOURCES = '^src/(orders|payments|system)/';
const DELIVERY = '^src/delivery/';
/** What delivery may use of the core: its port, its module and its shared reads. */
const CORE_EXPOSED = `${CORE}(escalation-port|activity|notifications\\.module|notification\\.types|visibility|preferences\\.service|quiet-hours)\\.ts$`;

/** Imports from `from` to `to` fail lint, with `why` as the message. */
const forbid = (name, why, from, to) => ({ name, comment: why, severity: 'error', from, to });

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    forbid('no-circular', 'A cycle: move the part both need below both.', {}, { circular: true }),
    forbid(
      'core-knows-no-delivery',
      'The core (notifications/, events/) does not import delivery/: delivery subscribes to the EscalationPort.',
      { path: [CORE, CORE_API] },
      { path: DELIVERY },
    ),
    forbid(
      'core-knows-no-source',
      'The core (notifications/, events/) imports no event source, nor what lists them: sources plug in through src/events/.',
      { path: [CORE, CORE_API] },
      { path: [SOURCES, '^src/(sources|app\\.module|main|app\\.factory)\\.ts$', '^src/admin/'] },
    ),
    forbid(
      'sources-through-events',
      'An event source reaches the core only through its public API, src/events/ (DomainEvents, the catalogue).',
      { path: SOURCES },
      { path: [CORE, DELIVERY] },
    ),
    forbid(
      'delivery-through-what-the-core-exposes',
      'Delivery uses the core through its port, its module and its shared reads, not its streams, feed, bus or publisher.',
      { path: DELIVERY },
      { path: CORE, pathNot: CORE_EXPOSED },
    ),
    forbid(
      'a-method-plugs-into-the-port',
      'A delivery method (src/delivery/methods/<m>/) uses the port, its own folder, the contacts SMS and chat share (src/delivery/contacts/) and what delivery may use of the core, not the sender, escalation or another method.',
      { path: '^src/delivery/methods/([^/]+)/' },
      { path: '^src/delivery/', pathNot: ['^src/delivery/(port|contacts)/', '^src/delivery/methods/$1/'] },
    ),
    forbid(
      'delivery-knows-methods-by-the-list',
      'Delivery reaches the methods only through their list (src/delivery/methods/index.ts) and the port.',
      { path: '^src/delivery/', pathNot: '^src/delivery/methods/' },
      { path: '^src/delivery/methods/', pathNot: '^src/delivery/methods/index\\.ts$' },
    ),
    forbid(
      'users-below-auth',
      'auth/ builds on users/; users/ does not import auth/.',
      { path: '^src/users/' },
      { path: '^src/auth/' },
    ),
    forbid(
      'client-imports-nothing-server-side',
      'The browser client and the page ship on their own: no server code.',
      { path: '^(client|public)/' },
      { path: '^(src|migrations|test|bench)/' },
    ),
    forbid(
      'wire-imports-only-the-registry',
      'client/wire.ts is types the server imports too: it may import the registry, nothing else.',
      { path: '^client/wire\\.ts$' },
      { pathNot: '^client/registry\\.ts$' },
    ),
    forbid(
      'registry-imports-nothing',
      'client/registry.ts is loaded by the server, the client and the page alike.',
      { path: '^client/registry\\.ts$' },
      {},
    ),
    forbid(
      'no-tests-in-the-app',
      'Tests and the benchmark are not part of the app.',
      { path: '^(src|client|public|migrations)/' },
      { path: '^(test|bench)/' },
    ),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a backward arrow is one whether or not it survives compilation.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
  },
};
