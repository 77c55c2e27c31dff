export class BusError extends Error {
  override name = 'BusError';
}

export type QueryErrorCode = 'no_queryable' | 'timeout' | 'handler_error' | 'bad_request';

/** A query that got no good reply. `code` says why; the message says what to do. */
export class QueryError extends Error {
  override name = 'QueryError';
  readonly code: QueryErrorCode;
  constructor(code: QueryErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
