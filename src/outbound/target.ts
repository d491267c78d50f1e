import { OutboundError } from './outbound-error.js';

/**
 * Which URLs a caller may make the server request. Exact `origins` are dialled as the operator
 * named them (an internal receiver, an address literal, a port of its own); a host under one of
 * the `*.` `patterns`, or any host with `anyPublicHost`, must be https on port 443 and resolve
 * to public addresses only (checked at every connection: ./addresses.ts).
 */
export interface UrlRules {
  readonly origins: readonly string[];
  readonly patterns: readonly string[];
  readonly anyPublicHost?: boolean;
}

/** A URL that passed its rules, split into the parts a request is built from. */
export interface Target {
  /** WHATWG's serialisation: what was checked, for the record. */
  readonly href: string;
  readonly origin: string;
  readonly protocol: 'https:' | 'http:';
  /** As dialled: an IPv6 literal without its brackets. */
  readonly hostname: string;
  readonly port: number;
  /** Path and query, percent-encoded by WHATWG. */
  readonly path: string;
  /** An origin the operator named: dialled without the address filter. */
  readonly trusted: boolean;
}

/** Allow-list entries (`https://host[:port]` origins and `*.host` patterns) split into rules. */
export function allowlistRules(entries: readonly string[], options: { anyPublicHost?: boolean } = {}): UrlRules {
  return {
    origins: entries.filter((e) => !e.startsWith('*.')),
    patterns: entries.filter((e) => e.startsWith('*.')).map((e) => e.slice(1).toLowerCase()),
    anyPublicHost: options.anyPublicHost,
  };
}

const MAX_URL = 2048;
/** A DNS name of letter-digit-hyphen labels, at least two of them, the last not all digits. */
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DNS_NAME = new RegExp(`^(?=.{1,253}$)(?:${LABEL}\\.)+(?=[a-z0-9-]*[a-z-])${LABEL}$`);
/** Control characters, space, backslash: parsers disagree about them, so none is accepted. */
// eslint-disable-next-line no-control-regex
const AMBIGUOUS = /[\u0000-\u0020\u007f\\]/;

const refuse = (detail: string): never => {
  throw new OutboundError('refused: not an allowed URL', detail);
};

/**
 * Parses `raw` once (WHATWG `URL`) and checks it against `rules`. The request is then built
 * from the returned parts and never from a string, so no second parser can read another host
 * out of it (web-push's `url.parse` ended the host at `'`: `https://127.0.0.1'.push.apple.com`).
 * The URL must be written in the one spelling WHATWG serialises it to (no userinfo, no
 * percent-encoded, numeric or Unicode host, nothing the two parsers could read apart); apart
 * from an exact origin of the rules, its host must be a plain DNS name.
 * Throws an OutboundError "refused: not an allowed URL" whose detail says why.
 */
export function checkUrl(raw: string, rules: UrlRules): Target {
  if (typeof raw !== 'string' || raw.length > MAX_URL) refuse('not a string of at most 2048 characters');
  if (AMBIGUOUS.test(raw)) refuse('control character, space or backslash');
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return refuse('not a URL');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') refuse('not http(s)');
  // The authority as written must be the one WHATWG serialised: this refuses userinfo (even an
  // empty "@"), percent-encoding, decimal/hex/octal IPv4 and Unicode hosts in one comparison.
  const written = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(raw)?.[1]?.toLowerCase();
  const defaultPort = u.protocol === 'https:' ? '443' : '80';
  if (written !== u.host && written !== `${u.host}:${defaultPort}`) refuse('host not in its canonical spelling');
  const target = {
    href: u.href,
    origin: u.origin,
    protocol: u.protocol as Target['protocol'],
    hostname: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: Number(u.port || defaultPort),
    path: `${u.pathname}${u.search}`,
  };
  if (rules.origins.includes(u.origin)) return { ...target, trusted: true };
  if (u.protocol !== 'https:') refuse('not https');
  if (u.port !== '') refuse('not the default port');
  if (!DNS_NAME.test(u.hostname)) refuse('host is not a DNS name');
  const allowed = rules.anyPublicHost || rules.patterns.some((suffix) => u.hostname.endsWith(suffix));
  if (!allowed) refuse('host not in the allow-list');
  return { ...target, trusted: false };
}
