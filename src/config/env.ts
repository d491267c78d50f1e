import { createECDH, randomBytes } from 'node:crypto';
import { accessSync, constants as fsConstants, mkdirSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { generatedOnce } from '../common/generated-once.js';
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
  /** REDIS_CLUSTER_NODES: seed nodes of a Redis Cluster (the bus then uses sharded pub/sub); exclusive with redisUrl. */
  readonly redisClusterNodes: ReadonlyArray<{ readonly host: string; readonly port: number }> | undefined;
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
  /** NOTIFICATION_PARTITION_SIZE: ids per partition of `notifications` the partition job creates. */
  readonly partitionSize: number;
  /**
   * SHUTDOWN_DRAIN_MS (internal, not in the contract): after SIGTERM, how long a kept-alive
   * connection must have been idle before the instance closes it; longer than the balancer
   * keeps idle upstream connections (the shipped nginx: 4 s), so the balancer closes them first.
   */
  readonly shutdownDrainMs: number;
  /** Safety-net poll of the notifications table, in case a bus message is lost. */
  readonly feedPollMs: number;
  /** pino level: fatal, error, warn, info, debug, trace or silent. */
  readonly logLevel: LogLevel;
  /** Proxies (addresses/CIDRs) whose X-Forwarded-For/-Proto are believed; empty: nobody's. */
  readonly trustProxy: readonly string[];
  /** Sign-ups per client address per minute (POST /auth/register), then 429. */
  readonly signupRatePerMinute: number;
  /** CURRENCY: ISO 4217 code of the shop's amounts (orders, payments), shown per the user's locale. */
  readonly currency: string;
  readonly delivery: DeliveryConfig;
  readonly webhooks: WebhooksConfig;
  readonly api: {
    /** API_RATE_PER_SECOND: requests per second per API key, across instances. */
    readonly ratePerSecond: number;
    /**
     * API_TEST_EXIT_AFTER_COMMIT (internal, for tests only): a POST /v1/notifications that wrote
     * something kills the process (SIGKILL) right after its commit, before it answers.
     */
    readonly testExitAfterCommit: boolean;
  };
  readonly outbound: {
    /** OUTBOUND_DNS_SERVER (internal, for tests): one DNS server (`ip:port`) instead of the system's resolver. */
    readonly dnsServer: string | undefined;
  };
}

/** Push and email for users who are not looking (docs/delivery.md). */
export interface DeliveryConfig {
  /** Absolute base for links in emails and pushes, without a trailing slash. */
  readonly publicUrl: string;
  /** undefined: emails are written as .eml files to outboxDir. */
  readonly smtpUrl: string | undefined;
  readonly outboxDir: string;
  readonly mailFrom: string;
  readonly vapid: { readonly publicKey: string; readonly privateKey: string; readonly subject: string };
  /** SMS_URL and SMS_FROM (src/delivery/methods/sms/); undefined: SMS are written as files to outboxDir. */
  readonly sms: SmsConfig | undefined;
  /** Origins ("https://host[:port]") or "*.host" patterns, https only. */
  readonly pushAllowlist: readonly string[];
  /** CHAT_WEBHOOK_ALLOWLIST: where a chat destination may point, in the same form. */
  readonly chatAllowlist: readonly string[];
  readonly escalateAfterMs: number;
  /** A claim older than this is a process that died mid-send (internal, not in the contract). */
  readonly claimTimeoutMs: number;
}

/** Outbound webhooks (docs/webhooks.md). */
export interface WebhooksConfig {
  /** WEBHOOK_RETRY_SCHEDULE: ms to wait before each retry; its length is the number of retries. */
  readonly retryScheduleMs: readonly number[];
  /** WEBHOOK_URL_ALLOWLIST: origins exempt from the https and public-address rules. */
  readonly urlAllowlist: readonly string[];
}

export const DEFAULT_WEBHOOK_RETRY_SCHEDULE = [5000, 300000, 1800000, 7200000, 18000000, 36000000, 36000000];

/** A Twilio-compatible REST API: SMS_URL without its user part, which holds the account. */
export interface SmsConfig {
  /** SMS_URL's origin and path, no trailing slash, no credentials. */
  readonly baseUrl: string;
  readonly accountSid: string;
  readonly authToken: string;
  /** SMS_FROM, E.164. */
  readonly from: string;
}

/** The browsers' push services (Chrome/Edge via FCM, Firefox, Safari, legacy Edge/Windows). */
export const DEFAULT_PUSH_ALLOWLIST = [
  'https://fcm.googleapis.com',
  'https://updates.push.services.mozilla.com',
  '*.push.apple.com',
  '*.notify.windows.com',
];

/** Slack's and Discord's webhook hosts, and the Teams Workflows (Power Automate) and connector hosts. */
export const DEFAULT_CHAT_ALLOWLIST = [
  'https://hooks.slack.com',
  'https://discord.com',
  'https://discordapp.com',
  '*.logic.azure.com',
  '*.powerplatform.com',
  '*.webhook.office.com',
];

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

function url(env: Env, name: string, protocols: string[], { hostless = false } = {}): string | undefined {
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
  // `smtp:mail.example.com` and `redis://` are URLs of no host, which their clients take for localhost.
  if (!hostless && !parsed.hostname) throw new ConfigError(`${name} must name a host: ${protocols[0]}//host:port`);
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

/** REDIS_CLUSTER_NODES: `host:port,…`, a host being a name, an IPv4 address or an [IPv6] address. */
function clusterNodes(env: Env): Array<{ host: string; port: number }> | undefined {
  const raw = env.REDIS_CLUSTER_NODES;
  if (raw === undefined || raw.trim() === '') return undefined;
  return raw.split(',').map((entry) => {
    const text = entry.trim();
    const m =
      /^(?:\[([0-9a-f:.]+)\]|([a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)):(\d{1,5})$/i.exec(text);
    const port = Number(m?.[6]);
    if (!m || port < 1 || port > 65535 || (m[1] !== undefined && isIP(m[1]) !== 6)) {
      throw new ConfigError(
        `REDIS_CLUSTER_NODES must be comma-separated host:port pairs (redis-1:6379,redis-2:6379), got "${text}"`,
      );
    }
    return { host: m[1] ?? m[2], port };
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

/** DATA_DIR, made if absent; a path no directory can be made or written at is refused by name. */
function usableDataDir(dataDir: string): void {
  try {
    mkdirSync(dataDir, { recursive: true });
    accessSync(dataDir, fsConstants.W_OK | fsConstants.X_OK);
  } catch (err) {
    throw new ConfigError(`DATA_DIR ${dataDir} cannot be used: ${(err as Error).message}`);
  }
}

/** A dev secret generated once and kept in DATA_DIR, so sessions survive restarts. */
function devSecret(dataDir: string): string {
  return generatedOnce(dataDir, 'session-secret', () => randomBytes(32).toString('base64url')).trim();
}

/** A P-256 key pair for VAPID, generated once into DATA_DIR (development only). */
function devVapid(dataDir: string): { publicKey: string; privateKey: string } {
  const json = generatedOnce(dataDir, 'vapid.json', () => {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    return JSON.stringify({
      publicKey: ecdh.getPublicKey().toString('base64url'),
      // 32 bytes always: the scalar has leading zero bytes once in 256 keys, which getPrivateKey drops.
      privateKey: Buffer.from(ecdh.getPrivateKey().toString('hex').padStart(64, '0'), 'hex').toString('base64url'),
    });
  });
  return JSON.parse(json) as { publicKey: string; privateKey: string };
}

/** Comma-separated https origins and `*.host` patterns (PUSH_ENDPOINT_ALLOWLIST, CHAT_WEBHOOK_ALLOWLIST). */
function allowlist(env: Env, name: string, defaults: string[]): string[] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return defaults;
  return raw.split(',').map((entry) => {
    const e = entry.trim();
    if (/^\*\.[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(e)) return e.toLowerCase();
    let u: URL;
    try {
      u = new URL(e);
    } catch {
      throw new ConfigError(`${name}: "${e}" is neither an https origin nor a *.host pattern`);
    }
    if (u.protocol !== 'https:' || u.origin !== e.replace(/\/$/, '').toLowerCase()) {
      throw new ConfigError(`${name}: "${e}" must be an https origin (https://host[:port]) or *.host`);
    }
    return u.origin;
  });
}

/** An address literal and a port, as dns.Resolver#setServers takes them: `127.0.0.1:5353`, `[::1]:53`. */
function dnsServer(env: Env): string | undefined {
  const raw = env.OUTBOUND_DNS_SERVER;
  if (raw === undefined || raw === '') return undefined;
  const m = /^(?:\[([0-9a-f:.]+)\]|([0-9.]+)):(\d{1,5})$/i.exec(raw);
  if (!m || !isIP(m[1] ?? m[2]) || Number(m[3]) > 65535) {
    throw new ConfigError(`OUTBOUND_DNS_SERVER must be an address and a port (127.0.0.1:53 or [::1]:53), got "${raw}"`);
  }
  return raw;
}

/** WEBHOOK_RETRY_SCHEDULE: 1 to 50 comma-separated waits in ms, each at most 7 days. */
function retrySchedule(env: Env): number[] {
  const raw = env.WEBHOOK_RETRY_SCHEDULE;
  if (raw === undefined || raw.trim() === '') return DEFAULT_WEBHOOK_RETRY_SCHEDULE;
  const entries = raw.split(',').map((e) => e.trim());
  if (entries.length > 50 || entries.some((e) => !/^\d{1,10}$/.test(e) || Number(e) > 7 * 24 * 3_600_000)) {
    throw new ConfigError(
      `WEBHOOK_RETRY_SCHEDULE must be 1 to 50 comma-separated waits in ms, each at most 7 days (5000,300000,…), got "${raw}"`,
    );
  }
  return entries.map(Number);
}

function sms(env: Env): SmsConfig | undefined {
  const raw = url(env, 'SMS_URL', ['http:', 'https:']);
  if (raw === undefined) return undefined;
  const u = new URL(raw);
  const accountSid = decodeURIComponent(u.username);
  const authToken = decodeURIComponent(u.password);
  if (!accountSid || !authToken) {
    throw new ConfigError(
      'SMS_URL must carry the account in its user part: https://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com',
    );
  }
  if (u.search || u.hash) throw new ConfigError('SMS_URL must have no query or fragment');
  const from = env.SMS_FROM ?? '';
  if (!/^\+[0-9]{8,15}$/.test(from))
    throw new ConfigError('SMS_FROM must be an E.164 number (+ and 8 to 15 digits) when SMS_URL is set');
  return { baseUrl: `${u.origin}${u.pathname.replace(/\/+$/, '')}`, accountSid, authToken, from };
}

function delivery(env: Env, production: boolean, dataDir: string, port: number): DeliveryConfig {
  const publicUrl = (url(env, 'PUBLIC_URL', ['http:', 'https:']) ?? `http://localhost:${port}`).replace(/\/+$/, '');
  const smtpUrl = url(env, 'SMTP_URL', ['smtp:', 'smtps:']);
  const mailFrom = env.MAIL_FROM || 'Notifications <notifications@localhost>';
  if (!/^([^<>\r\n]*<[^\s@<>]+@[^\s@<>]+>|[^\s@<>]+@[^\s@<>]+)$/.test(mailFrom)) {
    throw new ConfigError('MAIL_FROM must be an address or "Name <address>"');
  }
  let publicKey = env.VAPID_PUBLIC_KEY || undefined;
  let privateKey = env.VAPID_PRIVATE_KEY || undefined;
  const subject = env.VAPID_SUBJECT || undefined;
  if (production && (!publicKey || !privateKey || !subject)) {
    throw new ConfigError(
      'VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT are required when NODE_ENV=production',
    );
  }
  if (!publicKey !== !privateKey) throw new ConfigError('VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY go together');
  if (!publicKey || !privateKey) ({ publicKey, privateKey } = devVapid(dataDir));
  if (Buffer.from(publicKey, 'base64url').length !== 65) {
    throw new ConfigError('VAPID_PUBLIC_KEY must be an uncompressed P-256 point, base64url (65 bytes)');
  }
  if (Buffer.from(privateKey, 'base64url').length !== 32) {
    throw new ConfigError('VAPID_PRIVATE_KEY must be a P-256 private key, base64url (32 bytes)');
  }
  if (subject !== undefined && !/^(mailto:[^\s@]+@[^\s@]+|https:\/\/\S+)$/.test(subject)) {
    throw new ConfigError('VAPID_SUBJECT must be a mailto: or https: URL');
  }
  const fromAddress = /<([^>]+)>/.exec(mailFrom)?.[1] ?? mailFrom;
  return {
    publicUrl,
    smtpUrl,
    outboxDir: join(dataDir, 'outbox'),
    mailFrom,
    sms: sms(env),
    vapid: { publicKey, privateKey, subject: subject ?? `mailto:${fromAddress}` },
    pushAllowlist: allowlist(env, 'PUSH_ENDPOINT_ALLOWLIST', DEFAULT_PUSH_ALLOWLIST),
    chatAllowlist: allowlist(env, 'CHAT_WEBHOOK_ALLOWLIST', DEFAULT_CHAT_ALLOWLIST),
    escalateAfterMs: int(env, 'ESCALATE_AFTER_MS', 60_000, 0, 7 * 24 * 3_600_000),
    claimTimeoutMs: int(env, 'DELIVERY_CLAIM_TIMEOUT_MS', 120_000, 1000, 3_600_000),
  };
}

/** An ISO 4217 code Intl knows (`EUR`, `usd` → `USD`); default EUR. */
function currency(env: Env): string {
  const raw = (env.CURRENCY || 'EUR').toUpperCase();
  const known = /^[A-Z]{3}$/.test(raw) && (Intl.supportedValuesOf('currency') as string[]).includes(raw);
  if (!known)
    throw new ConfigError(`CURRENCY must be an ISO 4217 currency code such as EUR or USD, got "${env.CURRENCY}"`);
  return raw;
}

export function loadConfig(env: Env = process.env): AppConfig {
  const nodeEnvRaw = env.NODE_ENV || 'development';
  if (!['development', 'production', 'test'].includes(nodeEnvRaw)) {
    throw new ConfigError(`NODE_ENV must be development, production or test, got "${nodeEnvRaw}"`);
  }
  const nodeEnv = nodeEnvRaw as NodeEnv;
  const production = nodeEnv === 'production';
  const dataDir = resolve(env.DATA_DIR || './.data');
  // postgres:///db?host=/run/postgresql is a server's Unix socket: no host in the URL.
  const databaseUrl = url(env, 'DATABASE_URL', ['postgres:', 'postgresql:'], { hostless: true });
  const redisUrl = url(env, 'REDIS_URL', ['redis:', 'rediss:']);
  const redisClusterNodes = clusterNodes(env);
  if (redisUrl && redisClusterNodes) {
    throw new ConfigError('REDIS_CLUSTER_NODES and REDIS_URL are both set: the bus uses one of them, unset the other');
  }

  // The start writes there (generated secrets, the embedded PostgreSQL): check it here, not in a stack trace later.
  const generates = !production && (!env.SESSION_SECRET || !env.VAPID_PUBLIC_KEY || !env.VAPID_PRIVATE_KEY);
  if (!databaseUrl || generates) usableDataDir(dataDir);

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

  const port = int(env, 'PORT', 3000, 0, 65535);
  return {
    nodeEnv,
    production,
    port,
    databaseUrl,
    dataDir,
    redisUrl,
    redisClusterNodes,
    publicOrigins: origins(env, 'PUBLIC_ORIGIN'),
    sessionSecret,
    admin: { email: email(env, 'ADMIN_EMAIL', 'admin@localhost'), password: adminPassword },
    stream: {
      heartbeatMs: int(env, 'HEARTBEAT_MS', 15000, 10, 3_600_000),
      retryMs: int(env, 'RETRY_MS', 3000, 0, 3_600_000),
      maxStreamsPerUser: int(env, 'MAX_STREAMS_PER_USER', 10, 1, 1_000_000),
      // At most the stream's immediate-drop backlog (IMMEDIATE_DROP_BYTES): more could never wait.
      slowClientBytes: int(env, 'SLOW_CLIENT_BYTES', 1024 * 1024, 1024, 16 * 1024 * 1024),
    },
    retentionDays: int(env, 'RETENTION_DAYS', 90, 1, 36500),
    partitionSize: int(env, 'NOTIFICATION_PARTITION_SIZE', 1_000_000, 10, 1_000_000_000_000),
    shutdownDrainMs: int(env, 'SHUTDOWN_DRAIN_MS', 5000, 0, 600_000),
    feedPollMs: int(env, 'FEED_POLL_MS', 1000, 10, 600_000),
    logLevel: logLevel(env, nodeEnv === 'test' ? 'error' : 'info'),
    trustProxy: trustProxy(env),
    signupRatePerMinute: int(env, 'SIGNUP_RATE_PER_MINUTE', 10, 1, 1_000_000),
    currency: currency(env),
    delivery: delivery(env, production, dataDir, port),
    webhooks: { retryScheduleMs: retrySchedule(env), urlAllowlist: origins(env, 'WEBHOOK_URL_ALLOWLIST') ?? [] },
    api: {
      ratePerSecond: int(env, 'API_RATE_PER_SECOND', 50, 1, 1_000_000),
      testExitAfterCommit: env.API_TEST_EXIT_AFTER_COMMIT === '1',
    },
    outbound: { dnsServer: dnsServer(env) },
  };
}
