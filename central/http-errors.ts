/**
 * The fleet API's error catalogue: every `error` code of its `{error, message}` replies, with the status it comes
 * with. docs/central.md lists them. Central's own: its `timeout` is a 400 (the query's limit, the SQL asked too
 * much), where the daemon's API answers 504.
 */
export const FLEET_API_ERRORS = {
  bad_request: {
    status: 400,
    meaning: 'The query string or body is not what the route takes (an unknown parameter included).',
  },
  read_only: { status: 400, meaning: 'The fleet query is not one read-only SELECT; the message names what it read.' },
  query_failed: { status: 400, meaning: "DuckDB refused the fleet query; the message is DuckDB's." },
  timeout: { status: 400, meaning: 'The fleet query ran past `fleet_query.timeout_s` and was interrupted.' },
  unauthorized: { status: 401, meaning: 'No token, or a wrong one, where `http.token` is set.' },
  not_found: { status: 404, meaning: 'No such route or page file.' },
  host_refused: {
    status: 421,
    meaning: 'The Host header is not a name central answers to (a guard against DNS rebinding).',
  },
  internal: {
    status: 500,
    meaning:
      'Central failed at it; also any other refusal before a route runs, with its own status (413 for a body too large).',
  },
  busy: { status: 503, meaning: '`fleet_query.concurrent` queries already run, or central is stopping: ask again.' },
} as const satisfies Record<string, { status: number; meaning: string }>;

export type FleetApiErrorCode = keyof typeof FLEET_API_ERRORS;

/** An error a fleet API route answers with: its code from the catalogue, which gives its status. */
export class FleetHttpError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: FleetApiErrorCode,
    message: string,
  ) {
    super(message);
    this.statusCode = FLEET_API_ERRORS[code].status;
  }
}
