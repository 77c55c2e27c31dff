const STATUS = { forbidden: 403, not_found: 404, conflict: 409, wrong_target: 421 } as const;

/**
 * A request the agent cannot do: `forbidden` (the caller may not, e.g. an outside agent approving its own
 * run), `not_found` (no such run), `conflict` (the run is not in a state that allows it, e.g. approving a run
 * that does not wait) or `wrong_target` (an intent for another robot). The API maps them to 403, 404, 409 and
 * 421 (Misdirected Request).
 */
export class AgentError extends Error {
  override name = 'AgentError';
  readonly code: keyof typeof STATUS;
  /** For the API's error mapping (fastify reads `statusCode`). */
  readonly statusCode: (typeof STATUS)[keyof typeof STATUS];
  constructor(code: keyof typeof STATUS, message: string) {
    super(message);
    this.code = code;
    this.statusCode = STATUS[code];
  }
}
