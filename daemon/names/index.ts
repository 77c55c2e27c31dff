export {
  DEFAULT_SCOPE,
  fullNameProblem,
  isFullName,
  MAX_NAME_LENGTH,
  resolveGlob,
  resolveName,
  type NameScope,
  type Resolved,
} from './ros-name.ts';
export { NAME_KEYS_KEYWORD, NAME_KEYWORD, resolveNames, RosGlob, RosName, type ResolvedNames } from './name-fields.ts';
