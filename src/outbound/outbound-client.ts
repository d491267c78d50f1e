import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { isPublicAddress, lookupThrough, type Resolve, systemResolve } from './addresses.js';
import { OutboundError } from './outbound-error.js';
import { checkUrl, type Target, type UrlRules } from './target.js';

/** Until the connection (TLS included) is up, waiting for a free connection to the origin included. */
export const CONNECT_TIMEOUT_MS = 5_000;
/** From the start of a request to the last byte of its answer. */
export const RESPONSE_TIMEOUT_MS = 10_000;
/** Connections at once to one origin, per instance: one slow destination cannot take them all. */
export const MAX_CONNECTIONS_PER_ORIGIN = 16;
/** Bytes of an answer's body kept; the rest is not read (and the connection is not reused). */
export const MAX_RESPONSE_BYTES = 64 * 1024;

export interface OutboundOptions {
  /** How host names become addresses; the system's resolver by default. */
  resolve?: Resolve;
  connectTimeoutMs?: number;
  /** CA certificates instead of Node's (tests only). */
  ca?: string[];
  /** Where the detail of a failure goes (host, address, socket error): never to users. */
  debug?: (message: string) => void;
}

export interface OutboundRequest {
  method?: 'POST' | 'PUT' | 'GET' | 'DELETE';
  headers?: Record<string, string | number>;
  /** The body, one of: JSON (sets Content-Type), a form (urlencoded), or bytes as they are. */
  json?: unknown;
  form?: Record<string, string>;
  body?: Uint8Array | string;
  /** The whole exchange, RESPONSE_TIMEOUT_MS by default. */
  timeoutMs?: number;
  /** Aborting destroys the request and its connection at once: "cancelled". */
  signal?: AbortSignal;
  maxResponseBytes?: number;
}

export interface OutboundResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The answer had more than maxResponseBytes. */
  truncated: boolean;
}

/**
 * Every request the server makes to a URL that a user, an admin or an integration supplied
 * goes through here (push endpoints now, chat destinations and webhooks next): `check` parses
 * and checks the URL once, `request` dials the checked parts (host, port, path) with node:https
 * options, so no other parser ever reads the URL. Names under an allow-list pattern (or any
 * public host) are dialled only if every address they resolve to is public, checked at each new
 * connection; exact allow-listed origins are dialled as named. Redirects are never followed (a
 * 3xx is an answer like any other). Each request has a connect and a response deadline and an
 * optional AbortSignal, and any of them destroys the socket, so nothing lingers in the background.
 * Failures are OutboundErrors whose message is a category fit to show a user.
 */
export class OutboundClient {
  private readonly connectTimeoutMs: number;
  private readonly resolve: Resolve;
  private readonly debug: (message: string) => void;
  private readonly lookups: { filtered: LookupFunction; trusted: LookupFunction };
  /** Trusted and filtered connections never share a pool, so neither reuses the other's socket. */
  private readonly agents: { https: https.Agent; trustedHttps: https.Agent; trustedHttp: http.Agent };
  private readonly inFlight = new Set<http.ClientRequest>();
  private readonly slots = new Map<string, { active: number; waiting: Array<() => void> }>();

  constructor(options: OutboundOptions = {}) {
    const resolve = options.resolve ?? systemResolve;
    this.resolve = resolve;
    this.connectTimeoutMs = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
    this.debug = options.debug ?? (() => undefined);
    this.lookups = { filtered: lookupThrough(resolve, true), trusted: lookupThrough(resolve, false) };
    // No maxSockets: the slots below bound connections per origin. A request waiting in an
    // agent's own queue cannot be taken out of it: once given up, it still made the agent open
    // a connection for it later.
    const pool = {
      keepAlive: true,
      maxFreeSockets: MAX_CONNECTIONS_PER_ORIGIN,
      scheduling: 'lifo' as const,
      // An idle kept-alive connection is closed after this long.
      timeout: 30_000,
    };
    this.agents = {
      https: new https.Agent({ ...pool, ca: options.ca }),
      trustedHttps: new https.Agent({ ...pool, ca: options.ca }),
      trustedHttp: new http.Agent(pool),
    };
  }

  /** Parses and checks a URL (see ./target.ts); throws OutboundError "refused: not an allowed URL". */
  check(url: string, rules: UrlRules): Target {
    return checkUrl(url, rules);
  }

  /**
   * Resolves a checked target's host now and throws "refused: private address" unless every
   * address is public (a trusted origin passes as it is): so that a URL can be refused when it
   * is stored. A name that does not resolve passes (it may later). Requests check again at
   * every connection regardless.
   */
  async checkAddresses(target: Target): Promise<void> {
    if (target.trusted) return;
    const all = await this.resolve(target.hostname).catch(() => []);
    const refused = all.find((a) => !isPublicAddress(a.address));
    if (refused)
      throw new OutboundError('refused: private address', `${target.hostname} resolves to ${refused.address}`);
  }

  /** Sends one request to a checked target; resolves with any status, rejects with an OutboundError. */
  async request(target: Target, r: OutboundRequest = {}): Promise<OutboundResponse> {
    const started = Date.now();
    const timeoutMs = r.timeoutMs ?? RESPONSE_TIMEOUT_MS;
    // Waiting for a connection slot counts as connecting.
    const release = await this.slot(
      `${target.trusted}|${target.origin}`,
      r.signal,
      Math.min(timeoutMs, this.connectTimeoutMs),
    );
    try {
      return await this.exchange(target, r, timeoutMs - (Date.now() - started));
    } finally {
      release();
    }
  }

  /** One of the MAX_CONNECTIONS_PER_ORIGIN slots of this origin, or an OutboundError once waiting is over. */
  private slot(key: string, signal: AbortSignal | undefined, waitMs: number): Promise<() => void> {
    const slots = this.slots.get(key) ?? { active: 0, waiting: [] };
    this.slots.set(key, slots);
    const release = () => {
      const next = slots.waiting.shift();
      if (next) next();
      else if (--slots.active === 0) this.slots.delete(key);
    };
    if (slots.active < MAX_CONNECTIONS_PER_ORIGIN) {
      slots.active++;
      return Promise.resolve(release);
    }
    return new Promise((resolve, reject) => {
      const give = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(release);
      };
      const leave = (err: OutboundError) => {
        const i = slots.waiting.indexOf(give);
        if (i >= 0) slots.waiting.splice(i, 1);
        signal?.removeEventListener('abort', onAbort);
        this.debug(`${key.split('|')[1]}: ${err.category} (${err.detail})`);
        reject(err);
      };
      const onAbort = () => {
        clearTimeout(timer);
        leave(new OutboundError('cancelled', 'aborted while waiting for a connection slot'));
      };
      const timer = setTimeout(
        () => leave(new OutboundError('timed out', `no free connection slot within ${waitMs} ms`)),
        waitMs,
      );
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      slots.waiting.push(give);
    });
  }

  private exchange(target: Target, r: OutboundRequest, timeoutMs: number): Promise<OutboundResponse> {
    const { body, contentType } = encodeBody(r);
    const headers: Record<string, string | number> = { ...(contentType ? { 'content-type': contentType } : {}) };
    Object.assign(headers, r.headers);
    if (body) headers['content-length'] = body.length;
    const maxBytes = r.maxResponseBytes ?? MAX_RESPONSE_BYTES;
    const https_ = target.protocol === 'https:';
    const agent = !target.trusted ? this.agents.https : https_ ? this.agents.trustedHttps : this.agents.trustedHttp;

    return new Promise<OutboundResponse>((resolve, reject) => {
      let settled = false;
      const timers: NodeJS.Timeout[] = [];
      const onAbort = () => fail(new OutboundError('cancelled', 'aborted by the caller'));
      const finish = (): boolean => {
        if (settled) return false;
        settled = true;
        timers.forEach(clearTimeout);
        r.signal?.removeEventListener('abort', onAbort);
        this.inFlight.delete(req);
        return true;
      };
      const fail = (err: unknown) => {
        if (!finish()) return;
        const e = categorise(err);
        this.debug(`${r.method ?? 'POST'} ${target.origin}: ${e.category}${e.detail ? ` (${e.detail})` : ''}`);
        req.destroy();
        reject(e);
      };

      const req = (https_ ? https : http).request({
        host: target.hostname,
        port: target.port,
        path: target.path,
        method: r.method ?? 'POST',
        headers,
        agent,
        lookup: target.trusted ? this.lookups.trusted : this.lookups.filtered,
      });
      this.inFlight.add(req);
      // First of all: destroying a request (a timer, an abort) makes it emit an error, and one
      // nobody listens to is an uncaught exception.
      req.on('error', fail);
      const connectTimer = setTimeout(
        () => fail(new OutboundError('timed out', `no connection within ${this.connectTimeoutMs} ms`)),
        this.connectTimeoutMs,
      );
      timers.push(
        connectTimer,
        setTimeout(() => fail(new OutboundError('timed out', `no complete answer within ${timeoutMs} ms`)), timeoutMs),
      );
      if (r.signal?.aborted) return onAbort();
      r.signal?.addEventListener('abort', onAbort, { once: true });

      req.on('socket', (socket) => {
        // A kept-alive connection is up already; a new one is still resolving or connecting.
        if (!socket.connecting) clearTimeout(connectTimer);
        else socket.once(https_ ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
      });
      req.on('response', (res) => {
        clearTimeout(connectTimer);
        const chunks: Buffer[] = [];
        let size = 0;
        const done = (truncated: boolean) => {
          if (!finish()) return;
          // An answer not read to its end leaves the connection unusable: it goes.
          if (truncated) req.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), truncated });
        };
        res.on('data', (chunk: Buffer) => {
          if (settled) return;
          const room = maxBytes - size;
          chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
          size += Math.min(chunk.length, room);
          if (chunk.length > room) done(true);
        });
        res.on('end', () => done(false));
        res.on('error', fail);
        res.on('aborted', () => fail(new OutboundError('unreachable', 'answer cut off')));
      });
      req.end(body);
    });
  }

  /** Cancels what is in flight and closes every kept-alive connection. */
  close(): void {
    for (const req of this.inFlight) req.destroy(new OutboundError('cancelled', 'shutting down'));
    this.agents.https.destroy();
    this.agents.trustedHttps.destroy();
    this.agents.trustedHttp.destroy();
  }
}

function encodeBody(r: OutboundRequest): { body?: Buffer; contentType?: string } {
  if (r.json !== undefined) return { body: Buffer.from(JSON.stringify(r.json)), contentType: 'application/json' };
  if (r.form) {
    return {
      body: Buffer.from(new URLSearchParams(r.form).toString()),
      contentType: 'application/x-www-form-urlencoded',
    };
  }
  if (r.body !== undefined) return { body: Buffer.from(r.body) };
  return {};
}

const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** Any failure as a category; the socket error's text goes to the detail (debug log) only. */
function categorise(err: unknown): OutboundError {
  if (err instanceof OutboundError) return err;
  const e = err as NodeJS.ErrnoException;
  const detail = [e?.code, e?.message].filter(Boolean).join(' ');
  return new OutboundError(e?.code && TIMEOUT_CODES.has(e.code) ? 'timed out' : 'unreachable', detail);
}

/** A `Retry-After` header (seconds or an HTTP date) as milliseconds from `now`; null if absent or bad. */
export function retryAfterMs(headers: IncomingHttpHeaders, now = Date.now()): number | null {
  const raw = headers['retry-after'];
  if (typeof raw !== 'string' || raw.trim() === '') return null;
  if (/^\d+$/.test(raw.trim())) return Number(raw) * 1000;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
