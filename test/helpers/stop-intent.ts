import { newId } from '../../daemon/util/ids.ts';
import type { Intent } from '../../daemon/contract/schemas.ts';

/** A `stop` intent of its own id, from an internal actor, as the run store's and live run's tests start runs with. */
export const stopIntent = (): Intent => ({
  intent_id: newId(),
  type: 'stop',
  params: {},
  policy_ctx: { actor: 't', source: 'internal' },
  targets: [],
});
