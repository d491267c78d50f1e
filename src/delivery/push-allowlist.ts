/**
 * A push subscription's endpoint is a URL the server will POST to: a
 * server-side request forgery vector if it could be anything. Only https URLs
 * on an allow-listed origin, or a host under an allow-listed `*.` pattern on
 * the default port, pass.
 */
export function endpointAllowed(endpoint: string, allowlist: readonly string[]): boolean {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    return false;
  }
  if (u.protocol !== 'https:' || u.username || u.password || endpoint.length > 2048) return false;
  return allowlist.some((entry) => {
    if (entry.startsWith('*.')) return u.port === '' && u.hostname.endsWith(entry.slice(1));
    return u.origin === entry;
  });
}

const B64URL = /^[A-Za-z0-9_-]+={0,2}$/;

/** The browser's P-256 public key (65 bytes, uncompressed) and 16-byte auth secret, base64url. */
export function keysValid(p256dh: string, auth: string): boolean {
  if (!B64URL.test(p256dh) || !B64URL.test(auth)) return false;
  const key = Buffer.from(p256dh, 'base64url');
  return key.length === 65 && key[0] === 0x04 && Buffer.from(auth, 'base64url').length === 16;
}
