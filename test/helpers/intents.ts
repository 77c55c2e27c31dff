import { newId } from '../../daemon/util/ids.ts';
import type { Intent } from '../../daemon/contract/schemas.ts';

/** A skill intent from a test. */
export function skillIntent(type: string, params: Record<string, unknown>): Intent {
  return { intent_id: newId(), type, params, policy_ctx: { actor: 'test', source: 'internal' }, targets: [] };
}
