/**
 * What an outbound request's failure may tell a user: a category, never a socket error, a
 * host name or an address (a user who reads the answer of a request to a URL of their choice
 * must not learn what is listening where). The detail is for the server's debug log only.
 */
export type OutboundFailure =
  'refused: not an allowed URL' | 'refused: private address' | 'unreachable' | 'timed out' | 'cancelled';

const TRANSIENT: ReadonlySet<OutboundFailure> = new Set(['unreachable', 'timed out', 'cancelled']);

export class OutboundError extends Error {
  /** Worth trying again later (the network), unlike a refusal by the rules. */
  readonly transient: boolean;

  constructor(
    readonly category: OutboundFailure,
    /** Why, for the debug log: may name the host or address, never a URL's path or query. */
    readonly detail = '',
  ) {
    super(category);
    this.name = 'OutboundError';
    this.transient = TRANSIENT.has(category);
  }
}
