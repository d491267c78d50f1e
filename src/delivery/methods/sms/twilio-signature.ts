import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Twilio's request signature (`X-Twilio-Signature`): HMAC-SHA1 with the auth token over the URL
 * Twilio called followed by each form field's name and value, sorted by name (a repeated name's
 * values in order), base64.
 */
export function twilioSignature(authToken: string, url: string, fields: ReadonlyArray<[string, string]>): string {
  const sorted = [...fields].sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  const data = url + sorted.map(([name, value]) => name + value).join('');
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

/** Whether `signature` is Twilio's for this request, compared in constant time. */
export function validTwilioSignature(
  authToken: string,
  url: string,
  fields: ReadonlyArray<[string, string]>,
  signature: string | undefined,
): boolean {
  if (!signature) return false;
  const expected = Buffer.from(twilioSignature(authToken, url, fields));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
