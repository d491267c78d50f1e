import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CHANNELS } from '../client/registry.js';

/**
 * The client as its users get it: `npm run pack:client` packs it, a scratch
 * project installs the tarball (offline: the one dependency, eventsource-parser,
 * comes from this repository's node_modules), and a use of each entry
 * type-checks under NodeNext (the browser one with the DOM lib, the Node one
 * without) and loads in Node. The uses are this file's own and the README's
 * snippets, so the README cannot drift from the package.
 */

const exec = promisify(execFile);

/** The repository root, whether this file runs from test/ or from dist/test/. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'tsconfig.client.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('no tsconfig.client.json above this test');
    dir = up;
  }
  return dir;
}

const root = repoRoot();
const tsc = join(root, 'node_modules/typescript/bin/tsc');
/** Under `npm test`, npm's environment names this repository as the project: not for the scratch one. */
const env = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) => !/^npm_(package_|lifecycle_|command$|config_local_prefix$|config_prefix$)/.test(k),
  ),
);

let work: string;
let tarball: string;
let project: string;
let installed: string;

/** Runs a command; a failure shows its output in the assertion message. */
async function run(file: string, args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await exec(file, args, { cwd, env, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${[file, ...args].join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}${e.message}`, {
      cause: err,
    });
  }
}

/** The ```ts blocks of client/README.md, in order. */
function readmeSnippets(): string[] {
  const readme = readFileSync(join(root, 'client/README.md'), 'utf8');
  return [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
}

function writeTsconfig(name: string, files: string[], lib: string[], types: string[]): void {
  const compilerOptions = {
    module: 'nodenext',
    moduleResolution: 'nodenext',
    target: 'es2023',
    lib,
    types,
    // @types/node (and undici-types) from this repository: the scratch project installs nothing but the package.
    typeRoots: [join(root, 'node_modules/@types')],
    strict: true,
    noEmit: true,
    skipLibCheck: false, // the package's declarations are checked too
  };
  writeFileSync(join(project, name), JSON.stringify({ compilerOptions, files }, null, 2));
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'client-package-'));
  const out = await run(process.execPath, [join(root, 'scripts/pack-client.mjs'), '--pack-destination', work], root);
  tarball = out.trim().split('\n').pop()!;
  project = join(work, 'project');
  installed = join(project, 'node_modules/@notifications/client');
  await run('mkdir', [project], work);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  await run(
    'npm',
    [
      'install',
      tarball,
      // the client's one dependency, copied from here (--install-links) so nothing is fetched
      join(root, 'node_modules/eventsource-parser'),
      '--install-links',
      '--offline',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
    ],
    project,
  );
}, 60_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the client package (npm pack)', () => {
  it('holds the compiled client, its declarations, package.json and README, and nothing else', async () => {
    expect(tarball).toMatch(/notifications-client-\d+\.\d+\.\d+\.tgz$/);
    const listed = (await run('tar', ['-tzf', tarball], work)).trim().split('\n').sort();
    const modules = readdirSync(join(root, 'client'))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
      .map((f) => f.slice(0, -3));
    const expected = [
      'package/README.md',
      'package/package.json',
      ...modules.flatMap((m) => [`package/${m}.d.ts`, `package/${m}.js`, `package/${m}.js.map`]),
    ].sort();
    expect(listed).toEqual(expected);

    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
    expect(manifest.name).toBe('@notifications/client');
    expect(manifest.type).toBe('module');
    expect(manifest.exports['.']).toEqual({ types: './index.d.ts', import: './index.js' });
    expect(manifest.exports['./node']).toEqual({ types: './node.d.ts', import: './node.js' });
    expect(Object.keys(manifest.dependencies ?? {})).toEqual(['eventsource-parser']);
  });

  it('declares its types without reaching the server: no src/, typeorm, rxjs or @nestjs', () => {
    const declarations = readdirSync(installed).filter((f) => f.endsWith('.d.ts'));
    expect(declarations).toEqual(expect.arrayContaining(['index.d.ts', 'node.d.ts', 'wire.d.ts']));
    for (const file of declarations) {
      const text = readFileSync(join(installed, file), 'utf8');
      const code = text.replace(/\/\*[\s\S]*?\*\//g, ''); // JSDoc may quote the server's imports
      const specifiers = [
        ...code.matchAll(/\b(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g),
        ...text.matchAll(/\/\/\/\s*<reference\s+\w+="([^"]+)"/g),
      ].map((m) => m[1]);
      // Only the package's own modules (its one dependency is used by fetch-transport.js, not its types).
      expect({ file, outside: specifiers.filter((s) => !/^\.\/[\w.-]+\.js$/.test(s)) }).toEqual({ file, outside: [] });
      expect({ file, server: text.match(/typeorm|rxjs|@nestjs|\bsrc\//g) }).toEqual({ file, server: null });
    }
  });

  it('type-checks a browser use (NodeNext, DOM lib): connectInbox, NotificationStream, typed events', async () => {
    writeFileSync(
      join(project, 'browser.ts'),
      `import { connectInbox, eventSourceTransport, NotificationStream, type Inbox } from '@notifications/client';
import type { NotificationJson, StateChange, UnreadCounts } from '@notifications/client';

const inbox: Inbox = connectInbox({ api: { baseUrl: 'https://notify.example' }, stream: { mode: 'direct' } });
inbox.source.on('payment', (n) => { const channel: 'payment' = n.channel; console.log(channel, n.title); });
inbox.on('change', () => { const counts: UnreadCounts = inbox.counts; console.log(counts.byChannel.order); });
const stream = new NotificationStream({ transport: eventSourceTransport(), channels: ['order', 'system'] });
stream.on('state', (s: StateChange) => s.state === 'closed' && console.log(s.reason));
stream.on('notification', (n: NotificationJson) => console.log(n.id, n.severity, n.readAt ?? 'unread'));
// @ts-expect-error: not an event the stream emits
stream.on('orders', () => undefined);
`,
    );
    writeFileSync(join(project, 'readme-browser.ts'), readmeSnippets()[0]);
    writeTsconfig('tsconfig.browser.json', ['browser.ts', 'readme-browser.ts'], ['es2023', 'dom'], []);
    await run(process.execPath, [tsc, '-p', 'tsconfig.browser.json'], project);
  }, 30_000);

  it('type-checks a Node use (NodeNext, no DOM lib) of the node entry', async () => {
    writeFileSync(
      join(project, 'node.ts'),
      `import { fetchTransport, NotificationsApi, NotificationStream, streamUrl } from '@notifications/client/node';
import type { Channel, InboxPage, ResetPayload } from '@notifications/client/node';

const api = new NotificationsApi({ baseUrl: 'http://localhost:3000', headers: () => ({ cookie: 'sid=…' }) });
const page: InboxPage = await api.list({ limit: 10, channel: 'order' satisfies Channel });
const stream = new NotificationStream({ baseUrl: api.baseUrl, transport: fetchTransport(), lastEventId: page.items[0]?.id });
stream.on('reset', (r: ResetPayload) => console.log(r.reason === 'unknown-cursor'));
stream.on('system', (n) => console.log(n.channel satisfies 'system'));
console.log(streamUrl(api.baseUrl, ['payment']));
stream.close();
`,
    );
    writeFileSync(join(project, 'readme-node.ts'), readmeSnippets()[1]);
    writeTsconfig('tsconfig.node.json', ['node.ts', 'readme-node.ts'], ['es2023'], ['node']);
    await run(process.execPath, [tsc, '-p', 'tsconfig.node.json'], project);
  }, 30_000);

  it('loads in Node: both entries import, the node entry with its fetch transport', async () => {
    const out = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const node = await import('@notifications/client/node');
const browser = await import('@notifications/client');
console.log(JSON.stringify({
  node: typeof node.fetchTransport, stream: typeof node.NotificationStream, inbox: typeof browser.connectInbox,
  url: node.streamUrl('http://x', ['order']), channels: browser.CHANNELS,
}));`,
      ],
      project,
    );
    expect(JSON.parse(out)).toEqual({
      node: 'function',
      stream: 'function',
      inbox: 'function',
      url: 'http://x/notifications/stream?channels=order',
      channels: [...CHANNELS],
    });
  });
});
