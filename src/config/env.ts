import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { normalizeEmail } from '../users/email.js';

/**
 * Every environment variable of the contract is read here and nowhere else.
 * `loadConfig` validates them once at boot; a bad value throws a ConfigError
 * whose message is one line naming the variable, which main.ts prints before
 * exiting 1.
 */
export class ConfigError extends Error {}

export type NodeEnv = 'development' | 'production' | 'test';

export interface AppConfig {
  readonly nodeEnv: NodeEnv;
  readonly production: boolean;
  readonly port: number;
  /** undefined: start an embedded PostgreSQL in dataDir. */
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly redisUrl: string | undefined;
  /** PUBLIC_ORIGIN: the origins allowed to change state and open streams; undefined: the request's own. */
  readonly publicOrigins: readonly string[] | undefined;
  readonly sessionSecret: string;
  readonly admin: { readonly email: string; readonly password: string | undefined };
  readonly stream: {
    readonly heartbeatMs: number;
    readonly retryMs: number;
    readonly maxStreamsPerUser: number;
    /** Bytes queued for one client before it is dropped (it replays on reconnect). */
    readonly slowClientBytes: number;
  };
  readonly retentionDays: number;
  /** Safety-net poll of the notifications table, in case a bus message is lost. */
  readonly feedPollMs: number;
  /** pino level: fatal, error, warn, info, debug, trace or silent. */
  readonly logLevel: LogLevel;
  /** Proxies (addresses/CIDRs) whose X-Forwarded-For/-Proto are believed; empty: nobody's. */
  readonly trustProxy: readonly string[];
  /** Sign-ups per client address per minute (POST /auth/register), then 429. */
  readonly signupRatePerMinute: number;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return Number(raw);
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a valid URL`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name} must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
  }
  return raw;
}

/** Comma-separated http(s) origins, scheme://host[:port] with no path, in the form browsers send. */
function origins(env: Env, name: string): string[] | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  return raw.split(',').map((entry) => {
    const text = entry.trim();
    let parsed: URL;
    try {
      parsed = new URL(text);
    } catch {
      throw new ConfigError(
        `${name} must be comma-separated origins such as https://notify.example.com, got "${text}"`,
      );
    }
    const bare = parsed.pathname === '/' && !parsed.search && !parsed.hash && !parsed.username && !parsed.password;
    if (!['http:', 'https:'].includes(parsed.protocol) || !bare || !/^https?:\/\/[^/]+\/?$/i.test(text)) {
      throw new ConfigError(`${name} entries must be http(s)://host[:port] with no path, got "${text}"`);
    }
    return parsed.origin;
  });
}

function logLevel(env: Env, def: LogLevel): LogLevel {
  const raw = env.LOG_LEVEL;
  if (raw === undefined || raw === '') return def;
  if (!(LOG_LEVELS as readonly string[]).includes(raw)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`);
  }
  return raw as LogLevel;
}

function email(env: Env, name: string, def: string): string {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!/^[^\s@]+@[^\s@]+$/.test(raw)) throw new ConfigError(`${name} must be an email address`);
  return normalizeEmail(raw);
}

/**
 * TRUST_PROXY: comma-separated addresses or CIDRs (IPv4 or IPv6), or Express's names
 * loopback/linklocal/uniquelocal. Unset: the client address is always the socket's.
 */
function trustProxy(env: Env): string[] {
  const raw = env.TRUST_PROXY;
  if (raw === undefined || raw.trim() === '') return [];
  const entries = raw.split(',').map((e) => e.trim());
  for (const entry of entries) {
    if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) continue;
    const [address, prefix, ...rest] = entry.split('/');
    const family = isIP(address);
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32));
    if (family === 0 || !prefixOk || rest.length > 0) {
      throw new ConfigError(`TRUST_PROXY must be comma-separated IP addresses or CIDRs, got "${entry}"`);
    }
  }
  return entries;
}

/** A dev secret generated once and kept in DATA_DIR, so sessions survive restarts. */
function devSecret(dataDir: string): string {
  const file = join(dataDir, 'session-secret');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    mkdirSync(dataDir, { recursive: true });
    const secret = randomBytes(32).toString('base64url');
    writeFileSync(file, secret, { mode: 0o600 });
    return secret;
  }
}

export function loadConfig(env: Env = process.env): AppConfig {
  const nodeEnvRaw = env.NODE_ENV || 'development';
  if (!['development', 'production', 'test'].includes(nodeEnvRaw)) {
    throw new ConfigError(`NODE_ENV must be development, production or test, got "${nodeEnvRaw}"`);
  }
  const nodeEnv = nodeEnvRaw as NodeEnv;
  const production = nodeEnv === 'production';
  const dataDir = resolve(env.DATA_DIR || './.data');
  const databaseUrl = url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']);
  const redisUrl = url(env, 'REDIS_URL', ['redis:', 'rediss:']);

  let sessionSecret = env.SESSION_SECRET;
  if (!sessionSecret) {
    if (production) throw new ConfigError('SESSION_SECRET is required when NODE_ENV=production');
    sessionSecret = devSecret(dataDir);
  } else if (sessionSecret.length < 32) {
    throw new ConfigError('SESSION_SECRET must be at least 32 characters');
  }

  const adminPassword = env.ADMIN_PASSWORD || undefined;
  if (production && !adminPassword) {
    throw new ConfigError('ADMIN_PASSWORD is required when NODE_ENV=production');
  }
  if (adminPassword !== undefined && adminPassword.length < 8) {
    throw new ConfigError('ADMIN_PASSWORD must be at least 8 characters');
  }

  return {
    nodeEnv,
    production,
    port: int(env, 'PORT', 3000, 0, 65535),
    databaseUrl,
    dataDir,
    redisUrl,
    publicOrigins: origins(env, 'PUBLIC_ORIGIN'),
    sessionSecret,
    admin: { email: email(env, 'ADMIN_EMAIL', 'admin@localhost'), password: adminPassword },
    stream: {
      heartbeatMs: int(env, 'HEARTBEAT_MS', 15000, 10, 3_600_000),
      retryMs: int(env, 'RETRY_MS', 3000, 0, 3_600_000),
      maxStreamsPerUser: int(env, 'MAX_STREAMS_PER_USER', 10, 1, 1_000_000),
      slowClientBytes: int(env, 'SLOW_CLIENT_BYTES', 1024 * 1024, 1024, 1024 * 1024 * 1024),
    },
    retentionDays: int(env, 'RETENTION_DAYS', 90, 1, 36500),
    feedPollMs: int(env, 'FEED_POLL_MS', 1000, 10, 600_000),
    logLevel: logLevel(env, nodeEnv === 'test' ? 'error' : 'info'),
    trustProxy: trustProxy(env),
    signupRatePerMinute: int(env, 'SIGNUP_RATE_PER_MINUTE', 10, 1, 1_000_000),
  };
}
