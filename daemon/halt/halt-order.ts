import { HaltRequest } from '../contract/index.ts';
import { Validator, errorText } from '../util/index.ts';

export type { HaltOrder } from '../contract/index.ts';

/** The robot was not stopped: the zero Twist did not go out. A 500 through the API, with `code`. */
export class RobotNotHaltedError extends Error {
  override name = 'RobotNotStoppedError';
  readonly code = 'not_stopped';
  readonly statusCode = 500;
}

const HALT_REQUEST = new Validator(HaltRequest);

/**
 * The bus query agent/stop's request: JSON `{by?, reason?}`, or nothing. Anything else throws an error
 * naming what is wrong: nothing is stopped then, as POST /stop answers 400.
 */
export function parseHaltQuery(payload: Uint8Array): HaltRequest {
  if (payload.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch (error) {
    throw new Error(
      `agent/stop: the request is not JSON (${errorText(error)}); send {"by": "...", "reason": "..."} or nothing. The robot was NOT stopped`,
    );
  }
  const issues = HALT_REQUEST.issues(value);
  if (issues.length > 0)
    throw new Error(
      `agent/stop: ${issues.map((i) => `${i.path || '(request)'}: ${i.message}`).join('; ')}. The robot was NOT stopped`,
    );
  return value as HaltRequest;
}
