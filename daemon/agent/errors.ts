/**
 * A request the agent cannot do: `not_found` (no such run) or `conflict` (the run is not in a state that
 * allows it, e.g. approving a run that does not wait). The API maps them to 404 and 409.
 */
export class AgentError extends Error {
  override name = 'AgentError';
  readonly code: 'not_found' | 'conflict';
  /** For the API's error mapping (fastify reads `statusCode`). */
  readonly statusCode: 404 | 409;
  constructor(code: 'not_found' | 'conflict', message: string) {
    super(message);
    this.code = code;
    this.statusCode = code === 'not_found' ? 404 : 409;
  }
}
