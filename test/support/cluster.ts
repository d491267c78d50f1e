import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/database/embedded-postgres.js';

/**
 * Real instances of the built service (`node dist/src/main.js`), each its own
 * process on its own port, against one database: what runs behind a load
 * balancer. They share SESSION_SECRET, so a cookie from one works on all.
 */
export const MAIN_JS = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));
export const SESSION_SECRET = 'cluster-secret-cluster-secret-cluster-0123';
export const ADMIN_EMAIL = 'admin@example.com';
export const ADMIN_PASSWORD = 'admin-password-1';

export interface InstanceOptions {
  /** undefined: as `npm start` without DATABASE_URL, the embedded PostgreSQL in `dataDir`. */
  databaseUrl: string | undefined;
  /** DATA_DIR, kept after the exit; default: a temporary one, removed after it. */
  dataDir?: string;
  /** A process group of its own, as a terminal gives a command: `interrupt()` is Ctrl-C there. */
  ownProcessGroup?: boolean;
  redisUrl?: string;
  port?: number;
  /** Extra environment (HEARTBEAT_MS, FEED_POLL_MS, …). */
  env?: Record<string, string>;
  name?: string;
  /** The service to run (default: this checkout's dist/src/main.js; the benchmark runs its own tree's). */
  mainJs?: string;
  /** How long it may take to listen (default 60 s). */
  startTimeoutMs?: number;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class Instance {
  output = '';
  readonly exited: Promise<Exit>;
  private exitInfo: Exit | null = null;
  private outputWaiters: Array<() => void> = [];

  private constructor(
    readonly options: InstanceOptions & { port: number; name: string },
    readonly proc: ChildProcess,
  ) {
    this.exited = new Promise((resolve) =>
      proc.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      }),
    );
    const keep = (chunk: Buffer) => {
      this.output += chunk.toString();
      if (this.output.length > 200_000) this.output = this.output.slice(-100_000);
      for (const wake of this.outputWaiters.splice(0)) wake();
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
  }

  get port(): number {
    return this.options.port;
  }

  get name(): string {
    return this.options.name;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.options.port}`;
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  /**
   * Resolves once the output matches: log lines reach stdout buffered (up to
   * 250 ms, src/logging/logging.ts), so a line logged before "listening" may
   * be printed after it.
   */
  async waitForOutput(pattern: RegExp, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.output)) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`instance ${this.options.name}: no ${pattern} in its output:\n${this.output.slice(-4000)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.outputWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  static async start(options: InstanceOptions): Promise<Instance> {
    const port = options.port ?? (await freePort());
    const name = options.name ?? `:${port}`;
    // A clean environment: nothing of the test runner's (REDIS_URL, DATABASE_URL…) leaks in.
    // Without a database URL, a newcomer's `npm start`: development, secrets and admin generated.
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? tmpdir(),
      LOG_LEVEL: 'warn',
      PORT: String(port),
      DATA_DIR: options.dataDir ?? mkdtempSync(join(tmpdir(), 'notif-instance-')),
      ...(options.databaseUrl
        ? { NODE_ENV: 'test', DATABASE_URL: options.databaseUrl, SESSION_SECRET, ADMIN_EMAIL, ADMIN_PASSWORD }
        : { NODE_ENV: 'development' }),
      SIGNUP_RATE_PER_MINUTE: '100000',
      // No balancer in front unless a test says so: the test's own idle connections need not hold a stop for 5 s.
      SHUTDOWN_DRAIN_MS: '500',
      ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
      ...options.env,
    };
    const proc = spawn(process.execPath, [options.mainJs ?? MAIN_JS], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: options.ownProcessGroup,
    });
    if (!options.dataDir) proc.once('exit', () => rmSync(env.DATA_DIR, { recursive: true, force: true }));
    const instance = new Instance({ ...options, port, name }, proc);
    await instance.waitUntilListening(options.startTimeoutMs);
    return instance;
  }

  /** The same instance again (same port and settings), e.g. after kill -9. */
  restart(): Promise<Instance> {
    return Instance.start(this.options);
  }

  private async waitUntilListening(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!/listening on http/.test(this.output)) {
      if (!this.running) throw new Error(`instance ${this.name} exited during start:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`instance ${this.name} did not start:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Polls until /health answers 200 (the database and the bus are up). */
  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: string;
    for (;;) {
      try {
        const res = await fetch(`${this.baseUrl}/health`);
        last = `${res.status} ${await res.text()}`;
        if (res.status === 200) return;
      } catch (err) {
        last = String(err);
      }
      if (Date.now() > deadline)
        throw new Error(
          `instance ${this.name} not healthy (${this.running ? 'running' : 'exited'}): ${last}\n${this.output.slice(-4000)}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Ctrl-C in its terminal: SIGINT to every process of its group (ownProcessGroup). */
  interrupt(): Promise<Exit> {
    if (this.running) process.kill(-this.proc.pid!, 'SIGINT');
    return this.exited;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<Exit> {
    if (this.running) this.proc.kill(signal);
    return this.exited;
  }

  /** SIGTERM and wait; SIGKILL if it hangs. */
  async stop(timeoutMs = 30_000): Promise<Exit> {
    if (!this.running) return this.exited;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }
}

/** Waits until `check` holds, polling; throws with `what` after the deadline. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
