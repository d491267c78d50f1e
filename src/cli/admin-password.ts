/**
 * `npm run admin:password -- <email> [--role admin|user] [--password-stdin]`:
 * sets a user's password from the command line, e.g. the bootstrap admin's,
 * which is created once on the first start and never updated from
 * ADMIN_PASSWORD afterwards.
 *
 * The new password is read from stdin: asked for twice without echo when stdin
 * is a terminal, else its first line (`--password-stdin` says so explicitly and
 * never prompts). It is hashed like a sign-up (argon2id, src/users/password.ts).
 * The user's sessions are deleted in the same transaction and their open
 * streams end on every instance (a revoke-user bus message): a password reset
 * signs the account out everywhere. `--role` also sets the role.
 *
 * Runs against DATABASE_URL, or the embedded PostgreSQL in DATA_DIR (the one a
 * running `npm start` holds, or one started for the command). Exit 0 when set,
 * 1 when the email is unknown or anything fails, 2 for a usage error.
 */
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { type AppConfig, ConfigError, loadConfig } from '../config/env.js';
import { startEmbeddedPostgres } from '../database/embedded-postgres.js';
import { embeddedAppDatabase } from '../database/app-role.js';
import { PG_CHANNEL } from '../notifications/bus/pg-notify.bus.js';
import { clusterChannels } from '../notifications/bus/redis-cluster.bus.js';
import { redisChannel } from '../notifications/bus/redis.bus.js';
import { normalizeEmail } from '../users/email.js';
import { hashPassword } from '../users/password.js';
import { ROLES, type Role } from '../users/user.entity.js';

const USAGE = 'Usage: npm run admin:password -- <email> [--role admin|user] [--password-stdin]';
/** The same bounds as POST /auth/register. */
const MIN_PASSWORD = 8;
const MAX_PASSWORD = 1024;

class UsageError extends Error {}
class Refusal extends Error {}

interface Options {
  email: string;
  role: Role | undefined;
  passwordStdin: boolean;
}

function parse(argv: string[]): Options {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { role: { type: 'string' }, 'password-stdin': { type: 'boolean' }, help: { type: 'boolean' } },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (parsed.values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (parsed.positionals.length !== 1) throw new UsageError('Give exactly one email address');
  const role = parsed.values.role;
  if (role !== undefined && !(ROLES as readonly string[]).includes(role)) {
    throw new UsageError(`--role must be one of: ${ROLES.join(', ')}`);
  }
  return {
    email: parsed.positionals[0].trim(),
    role: role as Role | undefined,
    passwordStdin: parsed.values['password-stdin'] ?? false,
  };
}

/** The first line of stdin (a pipe, a file, or a terminal with --password-stdin), without its line ending. */
function readLine(): Promise<string> {
  return new Promise((resolve) => {
    const lines = createInterface({ input: process.stdin, terminal: false, crlfDelay: Infinity });
    let first: string | undefined;
    lines.once('line', (line) => {
      first = line;
      lines.close();
    });
    lines.once('close', () => resolve(first ?? ''));
  });
}

/** Typed ahead of a prompt (both passwords pasted at once, say): kept for the next one. */
let typedAhead = '';

/** Asks on the terminal without echoing what is typed. */
function askHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (rest: string) => {
      typedAhead = rest;
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: string) => {
      // Bracketed paste markers, if the terminal sends them.
      // eslint-disable-next-line no-control-regex -- ESC is exactly what a paste marker starts with
      const chars = Array.from(chunk.replace(/\x1b\[20[01]~/g, ''));
      for (let i = 0; i < chars.length; i++) {
        const ch = chars[i];
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          finish(chars.slice(i + (ch === '\r' && chars[i + 1] === '\n' ? 2 : 1)).join(''));
          return resolve(value);
        }
        if (ch === '\u0003') {
          finish('');
          return reject(new Refusal('Cancelled'));
        }
        if (ch === '\u007f' || ch === '\b') value = Array.from(value).slice(0, -1).join('');
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.on('data', onData);
    if (typedAhead) onData(typedAhead);
    if (stdin.listeners('data').includes(onData)) stdin.resume();
  });
}

async function readPassword(options: Options): Promise<string> {
  if (options.passwordStdin || !process.stdin.isTTY) {
    const password = await readLine();
    if (password === '') throw new Refusal('No password on stdin');
    return password;
  }
  const password = await askHidden(`New password for ${options.email}: `);
  check(password);
  if ((await askHidden('Repeat it: ')) !== password) throw new Refusal('The two passwords differ; nothing changed');
  return password;
}

function check(password: string): void {
  const length = Array.from(password).length;
  if (length < MIN_PASSWORD) throw new Refusal(`The password must be at least ${MIN_PASSWORD} characters`);
  if (length > MAX_PASSWORD) throw new Refusal(`The password must be at most ${MAX_PASSWORD} characters`);
  // Every request body with U+0000 is refused, so such a password could never sign in.
  if (password.includes('\u0000')) throw new Refusal('The password must not contain U+0000');
}

interface Changed {
  id: string;
  email: string;
  role: Role;
  previousRole: Role;
  disabled: boolean;
  sessionsEnded: number;
}

async function setPassword(url: string, options: Options, hash: string, redis: boolean): Promise<Changed | null> {
  const client = new pg.Client({ connectionString: url, application_name: 'admin-password' });
  await client.connect();
  try {
    await client.query('BEGIN');
    // Looked up as sign-in does: the one normal form, compared with =.
    const found = await client.query<{ id: string; email: string; role: Role; disabled: boolean }>(
      `SELECT id::text, email, role, disabled_at IS NOT NULL AS disabled
         FROM users WHERE email = $1 FOR UPDATE`,
      [normalizeEmail(options.email)],
    );
    const user = found.rows[0];
    if (!user) {
      await client.query('ROLLBACK');
      return null;
    }
    await client.query(`UPDATE users SET password_hash = $2, role = COALESCE($3, role) WHERE id = $1`, [
      user.id,
      hash,
      options.role ?? null,
    ]);
    // Sessions store the user id as passport.user (see SessionSerializer).
    const ended = await client.query(`DELETE FROM sessions WHERE sess #>> '{passport,user}' = $1`, [user.id]);
    // With the Postgres bus, delivered to every instance on commit; with Redis, published after it.
    if (!redis) {
      await client.query(`SELECT pg_notify($1, $2)`, [
        PG_CHANNEL,
        JSON.stringify({ t: 'revoke-user', userId: user.id }),
      ]);
    }
    await client.query('COMMIT');
    return {
      id: user.id,
      email: user.email,
      role: options.role ?? user.role,
      previousRole: user.role,
      disabled: user.disabled,
      sessionsEnded: ended.rowCount ?? 0,
    };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    if ((err as { code?: string }).code === '42P01') {
      throw new Refusal('This database has no users table yet: start the service once, or run npm run migration:run');
    }
    throw err;
  } finally {
    await client.end();
  }
}

/** Ends the user's streams on instances that use a Redis bus (best effort: they re-check on reconnect). */
async function revokeThroughRedis(config: AppConfig, databaseUrl: string, userId: string): Promise<void> {
  const { Cluster, Redis } = await import('ioredis');
  const message = JSON.stringify({ t: 'revoke-user', userId });
  const options = { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3000 };
  const redis = config.redisClusterNodes
    ? new Cluster([...config.redisClusterNodes], {
        lazyConnect: true,
        clusterRetryStrategy: () => null,
        redisOptions: options,
      })
    : new Redis(config.redisUrl!, options);
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    if (redis instanceof Cluster) await redis.spublish(clusterChannels(databaseUrl)[0], message);
    else await redis.publish(redisChannel(databaseUrl), message);
  } catch (err) {
    console.error(`Warning: could not tell the instances through Redis (${(err as Error).message});`);
    console.error('the sessions are deleted, so open streams end at their next reconnect.');
  } finally {
    redis.disconnect();
  }
}

async function main(): Promise<void> {
  const options = parse(process.argv.slice(2));
  const config = loadConfig();
  const password = await readPassword(options);
  check(password);
  const hash = await hashPassword(password);
  const embedded = config.databaseUrl
    ? undefined
    : await startEmbeddedPostgres({ databaseDir: join(config.dataDir, 'postgres') });
  try {
    const url = config.databaseUrl ?? (await embeddedAppDatabase(embedded!, config.dataDir));
    const redis = !!(config.redisUrl || config.redisClusterNodes);
    const changed = await setPassword(url, options, hash, redis);
    if (!changed) throw new Refusal(`No user with the email ${options.email}; nothing changed`);
    if (redis) await revokeThroughRedis(config, url, changed.id);
    const role = changed.role !== changed.previousRole ? `; role ${changed.previousRole} → ${changed.role}` : '';
    const sessions = `${changed.sessionsEnded} session${changed.sessionsEnded === 1 ? '' : 's'} ended`;
    console.log(`Password set for ${changed.email} (user ${changed.id}, ${changed.role})${role}; ${sessions}.`);
    if (changed.disabled) console.log('Note: this account is disabled; it cannot sign in until an admin enables it.');
  } finally {
    await embedded?.stop();
  }
}

main().catch((err: unknown) => {
  if (err instanceof UsageError) {
    console.error(`${err.message}\n${USAGE}`);
    process.exit(2);
  }
  if (err instanceof ConfigError) console.error(`Configuration error: ${err.message}`);
  else if (err instanceof Refusal) console.error(err.message);
  else console.error(err);
  process.exit(1);
});
