export { EVENTS_TOPIC, FoxgloveBridge } from './foxglove-bridge.ts';
export {
  findPolicyHooks,
  PUBLISH_TOOL,
  PublishGate,
  type PolicyHooksProvider,
  type PublishInput,
} from './publish-gate.ts';
