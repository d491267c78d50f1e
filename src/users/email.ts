/**
 * The one spelling of an email address: Unicode NFKC, then lower case (JavaScript's,
 * locale-independent). Stored, looked up, throttled and compared in this form only,
 * so no second spelling can reach an account or dodge its throttle (issue 13: `İ`,
 * U+0130, folded differently by JavaScript's toLowerCase and PostgreSQL's lower()).
 * Lookups compare stored values with `=`, never with SQL lower().
 */
export function normalizeEmail(email: string): string {
  return email.normalize('NFKC').toLowerCase();
}
