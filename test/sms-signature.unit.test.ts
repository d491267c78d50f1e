import { describe, expect, it } from '@jest/globals';
import { twilioSignature, validTwilioSignature } from '../src/delivery/methods/sms/twilio-signature.js';

describe("Twilio's request signature", () => {
  // The example of Twilio's request-validation documentation (and its libraries' tests).
  const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
  const form: Array<[string, string]> = [
    ['CallSid', 'CA1234567890ABCDE'],
    ['Caller', '+14158675309'],
    ['Digits', '1234'],
    ['From', '+14158675309'],
    ['To', '+18005551212'],
  ];
  const published = 'RSOYDt4T1cUTdK1PDd93/VVr8B8=';

  it("matches Twilio's published example, whatever order the fields come in", () => {
    expect(twilioSignature('12345', url, form)).toBe(published);
    expect(twilioSignature('12345', url, [...form].reverse())).toBe(published);
    expect(validTwilioSignature('12345', url, form, published)).toBe(true);
  });

  it('refuses a changed field, URL or token, and a missing signature', () => {
    expect(validTwilioSignature('12345', url, [...form.slice(0, 4), ['To', '+18005551213']], published)).toBe(false);
    expect(validTwilioSignature('12345', `${url}&x=1`, form, published)).toBe(false);
    expect(validTwilioSignature('12346', url, form, published)).toBe(false);
    expect(validTwilioSignature('12345', url, form, undefined)).toBe(false);
    expect(validTwilioSignature('12345', url, form, '')).toBe(false);
    expect(validTwilioSignature('12345', url, form, published.slice(0, -1))).toBe(false);
  });
});
