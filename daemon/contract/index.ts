export { newId, UUID_PATTERN } from './ids.ts';
export { nowNs, nsFromJson, nsToJson, nsToRosTime, rosTimeToNs } from './time.ts';
export * from './schemas.ts';
export * from './policy-hook.ts';
export { formatIssue, formatPath, ValidationError, Validator, type ValidationIssue } from './validate.ts';
