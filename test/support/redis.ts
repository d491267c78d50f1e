import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../src/database/embedded-postgres.js';

/**
 * Redis for the `*.redis.test.ts` files. scripts/test.mjs runs those only when
 * TEST_REDIS_URL (or REDIS_URL) is set, or in CI; once they run, a missing or
 * unreachable Redis is a failure, never a skip.
 */
export async function redisUrlForTests(): Promise<string> {
  const url = process.env.TEST_REDIS_URL || process.env.REDIS_URL;
  if (!url) throw new Error('Redis suites need TEST_REDIS_URL (or REDIS_URL), e.g. redis://127.0.0.1:6379');
  await ping(url);
  return url;
}

async function ping(url: string, timeoutMs = 3000): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    throw new Error(`Redis at ${url} is unreachable: ${(err as Error).message}`, { cause: err });
  } finally {
    client.disconnect();
  }
}

/**
 * A redis-server of the test's own, as a child process on a fixed port, so the
 * test can kill and restart it without touching anyone else's Redis.
 */
export class RedisServer {
  private proc: ChildProcess | null = null;
  output = '';

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<RedisServer> {
    const which = spawnSync('sh', ['-c', 'command -v redis-server']);
    if (which.status !== 0) throw new Error('redis-server is not installed (Debian: apt-get install redis-server)');
    const server = new RedisServer(await freePort());
    await server.launch();
    return server;
  }

  private async launch(): Promise<void> {
    const proc = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    proc.stdout?.on('data', (c: Buffer) => (this.output += c.toString()));
    proc.stderr?.on('data', (c: Buffer) => (this.output += c.toString()));
    this.proc = proc;
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await ping(this.url, 500);
        return;
      } catch (err) {
        if (proc.exitCode !== null || Date.now() > deadline)
          throw new Error(`redis-server did not start: ${(err as Error).message}\n${this.output}`, { cause: err });
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** kill -9: clients see their sockets die with no goodbye. */
  async kill(): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    if (!proc || proc.exitCode !== null) return;
    proc.kill('SIGCONT');
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  }

  /** SIGSTOP: connections stay open but nothing answers (a silently dead peer). */
  pause(): void {
    this.proc?.kill('SIGSTOP');
  }

  resume(): void {
    this.proc?.kill('SIGCONT');
  }

  async restart(downForMs = 0): Promise<void> {
    await this.kill();
    if (downForMs > 0) await new Promise((r) => setTimeout(r, downForMs));
    await this.launch();
  }

  stop(): Promise<void> {
    return this.kill();
  }
}

interface ClusterNode {
  port: number;
  busPort: number;
  proc: ChildProcess | null;
  exited: Promise<unknown> | null;
  output: string;
}

/** A one-off connection to a node: what `ask` answers, or null if the node does not. */
async function askNode<T>(port: number, ask: (client: Redis) => Promise<T>): Promise<T | null> {
  const client = new Redis(port, '127.0.0.1', {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await ask(client);
  } catch {
    return null;
  } finally {
    client.disconnect();
  }
}

const alive = (n: ClusterNode) => n.proc !== null && n.proc.exitCode === null && n.proc.signalCode === null;

/**
 * A Redis Cluster of the test's own on loopback: `masters` masters with one
 * replica each, every node a redis-server child process in a directory of its
 * own, made a cluster by `redis-cli --cluster create`. A short node timeout
 * makes a replica take over a killed master within a couple of seconds.
 */
export class RedisCluster {
  private constructor(
    private readonly dir: string,
    readonly nodes: ClusterNode[],
  ) {}

  /** The seed list as REDIS_CLUSTER_NODES takes it. */
  get seeds(): string {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',');
  }

  static async start(options: { masters?: number; nodeTimeoutMs?: number } = {}): Promise<RedisCluster> {
    const masters = options.masters ?? 3;
    for (const bin of ['redis-server', 'redis-cli']) {
      if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0)
        throw new Error(`${bin} is not installed (Debian: apt-get install redis-server)`);
    }
    const dir = mkdtempSync(join(tmpdir(), 'redis-cluster-'));
    const nodes: ClusterNode[] = [];
    const cluster = new RedisCluster(dir, nodes);
    for (let i = 0; i < masters * 2; i++) {
      nodes.push({ port: await cluster.port(), busPort: await cluster.port(), proc: null, exited: null, output: '' });
    }
    try {
      await Promise.all(nodes.map((n) => cluster.launch(n, options.nodeTimeoutMs ?? 1000)));
      const create = spawnSync(
        'redis-cli',
        ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'],
        { encoding: 'utf8', timeout: 30_000 },
      );
      if (create.status !== 0) throw new Error(`redis-cli --cluster create failed:\n${create.stdout}${create.stderr}`);
      await cluster.waitUntilServed();
      return cluster;
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  /** A free port that no node of this cluster has had. */
  private async port(): Promise<number> {
    for (;;) {
      const port = await freePort();
      if (this.ports.has(port)) continue;
      this.ports.add(port);
      return port;
    }
  }

  private readonly ports = new Set<number>();

  /**
   * Starts a node. A port found free can be taken before redis-server binds it (by another
   * test's outgoing connection, say): then the node tries again on new ports.
   */
  private async launch(node: ClusterNode, nodeTimeoutMs: number, attempts = 3): Promise<void> {
    try {
      await this.launchOnce(node, nodeTimeoutMs);
    } catch (err) {
      if (attempts <= 1 || !/Address already in use/.test(node.output)) throw err;
      Object.assign(node, { port: await this.port(), busPort: await this.port(), output: '' });
      await this.launch(node, nodeTimeoutMs, attempts - 1);
    }
  }

  private async launchOnce(node: ClusterNode, nodeTimeoutMs: number): Promise<void> {
    const own = join(this.dir, String(node.port));
    mkdirSync(own, { recursive: true });
    // Each node's cluster bus on a port of its own (the default, port + 10000, may be taken).
    const args = ['--port', node.port, '--cluster-port', node.busPort, '--bind', '127.0.0.1', '--dir', own];
    args.push('--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf');
    args.push('--cluster-node-timeout', nodeTimeoutMs, '--save', '', '--appendonly', 'no');
    // A replica can take over only once it has synced: no 5-second wait before the first sync.
    args.push('--repl-diskless-sync-delay', 0);
    const proc = spawn('redis-server', args.map(String), { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout?.on('data', (c: Buffer) => (node.output += c.toString()));
    proc.stderr?.on('data', (c: Buffer) => (node.output += c.toString()));
    node.proc = proc;
    node.exited = new Promise((r) => proc.once('exit', r));
    const url = `redis://127.0.0.1:${node.port}`;
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        return await ping(url, 500);
      } catch (err) {
        if (!alive(node) || Date.now() > deadline)
          throw new Error(`redis-server did not start: ${(err as Error).message}\n${node.output}`, { cause: err });
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** What a live node says: CLUSTER INFO's state and CLUSTER NODES' masters (those that own slots). */
  private async view(): Promise<{ state: string; masters: Array<{ port: number; failed: boolean }> } | null> {
    const live = this.nodes.find(alive);
    if (!live) return null;
    return askNode(live.port, async (client) => {
      const info = (await client.cluster('INFO')) as string;
      const masters = ((await client.cluster('NODES')) as string)
        .split('\n')
        .map((line) => line.split(' '))
        .filter(([, , flags, , , , , , ...slots]) => flags?.split(',').includes('master') && slots.length > 0)
        .map(([, address, flags]) => ({ port: Number(/:(\d+)@/.exec(address)![1]), failed: /fail/.test(flags) }));
      return { state: /cluster_state:(\w+)/.exec(info)?.[1] ?? '?', masters };
    });
  }

  /** Ports of the masters serving slots now. */
  async masters(): Promise<number[]> {
    return ((await this.view())?.masters ?? []).filter((m) => !m.failed).map((m) => m.port);
  }

  /** Until every node that runs reports cluster_state:ok, replicas have synced, and every slot range has a live master. */
  async waitUntilServed(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const view = await this.view();
      const running = this.nodes.filter(alive).map((n) => n.port);
      if (
        view &&
        view.state === 'ok' &&
        view.masters.length > 0 &&
        view.masters.every((m) => !m.failed && running.includes(m.port)) &&
        (await this.allOk(running))
      )
        return;
      if (Date.now() > deadline) throw new Error(`the Redis Cluster is not served: ${JSON.stringify(view)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Every node says cluster_state:ok, and every replica has synced with its master (only then can it take over). */
  private async allOk(ports: number[]): Promise<boolean> {
    const states = await Promise.all(
      ports.map((port) =>
        askNode(port, async (client) => {
          const replication = await client.info('replication');
          const synced = !/role:slave/.test(replication) || /master_link_status:up/.test(replication);
          return synced && /cluster_state:ok/.test((await client.cluster('INFO')) as string);
        }),
      ),
    );
    return states.every(Boolean);
  }

  /** kill -9 of a node: its clients see their sockets die with no goodbye. */
  async kill(port: number): Promise<void> {
    const node = this.nodes.find((n) => n.port === port);
    if (!node || !alive(node)) return;
    node.proc!.kill('SIGKILL');
    await node.exited;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.kill(n.port)));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
