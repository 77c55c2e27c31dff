export { modelFile, policyModelInfo, remoteEndpoint } from './remote-spec.ts';
