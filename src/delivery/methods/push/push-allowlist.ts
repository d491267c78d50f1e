import { allowlistRules, checkUrl, type Target } from '../../../outbound/target.js';

/**
 * A push subscription's endpoint is a URL the server will POST to: checked by the outbound
 * rules against PUSH_ENDPOINT_ALLOWLIST (exact origins dialled as named, hosts under `*.`
 * patterns on 443 resolving to public addresses only). Throws an OutboundError otherwise.
 */
export function pushTarget(endpoint: string, allowlist: readonly string[]): Target {
  return checkUrl(endpoint, allowlistRules(allowlist));
}

const B64URL = /^[A-Za-z0-9_-]+={0,2}$/;

/** The browser's P-256 public key (65 bytes, uncompressed) and 16-byte auth secret, base64url. */
export function keysValid(p256dh: string, auth: string): boolean {
  if (!B64URL.test(p256dh) || !B64URL.test(auth)) return false;
  const key = Buffer.from(p256dh, 'base64url');
  return key.length === 65 && key[0] === 0x04 && Buffer.from(auth, 'base64url').length === 16;
}
