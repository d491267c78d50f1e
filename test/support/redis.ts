import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
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
