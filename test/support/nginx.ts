import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  closeSync,
  constants,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/database/embedded-postgres.js';

const DEPLOY = fileURLToPath(new URL('../../deploy/nginx/', import.meta.url)).replace(/dist\/deploy/, 'deploy');

/**
 * Writes `dir/nginx.conf`: one worker, errors to stderr, the pid and temp files in `dir`, and
 * `http` (the includes and servers of a test) inside the http block. Answers its path.
 */
export function writeNginxMain(dir: string, workerConnections: number, http: string): string {
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((k) => `${k}_temp_path ${join(dir, k)};`)
    .join('\n    ');
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1;
error_log stderr warn;
pid ${join(dir, 'nginx.pid')};
events { worker_connections ${workerConnections}; }
http {
    ${temp}
    ${http}
}
`,
  );
  return conf;
}

/** The nginx binary on the PATH or in the usual sbin directories; throws where there is none. */
export function findNginx(): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/local/nginx/sbin'];
  for (const dir of dirs) {
    try {
      accessSync(join(dir, 'nginx'), constants.X_OK);
      return join(dir, 'nginx');
    } catch {
      // next
    }
  }
  throw new Error('nginx is not installed (Debian: apt-get install nginx); this test must run in CI');
}

/** Replaces `from` (which must be there) in a shipped file's text. */
function swap(text: string, from: string, to: string, file: string): string {
  if (!text.includes(from)) throw new Error(`deploy/nginx/${file} no longer contains "${from}"`);
  return text.replaceAll(from, to);
}

/**
 * The shipped nginx configuration (deploy/nginx: http.conf, upstream.conf, proxy.conf) in front of
 * the given instances, over plain HTTP on loopback. Only the upstream addresses change; the wrapper
 * adds `X-Upstream` (the instance that answered) to every response, for the tests to count by.
 */
export class Nginx {
  /** What nginx wrote to its error log (stderr). */
  errorLog = '';

  private constructor(
    private readonly proc: ChildProcess,
    private readonly dir: string,
    private readonly accessLog: number,
    readonly port: number,
  ) {}

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(upstreamPorts: number[]): Promise<Nginx> {
    const bin = findNginx();
    const dir = mkdtempSync(join(tmpdir(), 'notif-nginx-'));
    chmodSync(dir, 0o755); // nginx workers drop to an unprivileged user when started as root
    const read = (name: string) => readFileSync(join(DEPLOY, name), 'utf8');
    writeFileSync(join(dir, 'http.conf'), read('http.conf'));
    const [first, ...rest] = upstreamPorts;
    let upstream = swap(read('upstream.conf'), 'app1:3000', `127.0.0.1:${first}`, 'upstream.conf');
    upstream = swap(
      upstream,
      'server app2:3000 max_fails=0;',
      rest.map((p) => `server 127.0.0.1:${p} max_fails=0;`).join('\n    '),
      'upstream.conf',
    );
    writeFileSync(join(dir, 'upstream.conf'), upstream);
    writeFileSync(join(dir, 'proxy.conf'), read('proxy.conf'));
    const port = await freePort();
    const conf = writeNginxMain(
      dir,
      4096,
      `include http.conf;
    include upstream.conf;
    server {
        listen 127.0.0.1:${port};
        add_header X-Upstream $upstream_addr always;
        include proxy.conf;
    }`,
    );
    // The access log goes to /dev/stdout, which cannot be opened on a pipe: give nginx a file.
    const accessLog = openSync(join(dir, 'access.log'), 'a');
    const args = ['-e', 'stderr', '-p', `${dir}/`, '-c', conf];
    const check = spawnSync(bin, [...args, '-t'], { encoding: 'utf8', stdio: ['ignore', accessLog, 'pipe'] });
    if (check.status !== 0) throw new Error(`nginx -t: ${check.stderr}`);
    const proc = spawn(bin, [...args, '-g', 'daemon off;'], { stdio: ['ignore', accessLog, 'pipe'] });
    const nginx = new Nginx(proc, dir, accessLog, port);
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (nginx.errorLog += d));
    const deadline = Date.now() + 10_000;
    while (!(await accepts(port))) {
      if (proc.exitCode !== null || Date.now() > deadline) {
        await nginx.stop();
        throw new Error(`nginx did not start: ${nginx.errorLog}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return nginx;
  }

  /** The access log's JSON lines so far. */
  accessLogLines(): Array<Record<string, unknown>> {
    return readFileSync(join(this.dir, 'access.log'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise((resolve) => this.proc.once('exit', resolve));
      this.proc.kill('SIGTERM');
      await exited;
    }
    closeSync(this.accessLog);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}
