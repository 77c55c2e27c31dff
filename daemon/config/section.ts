import Type from 'typebox';

/**
 * One config section: an object with no unknown keys whose every key has a default, so the section itself
 * defaults to `{}` filled with those defaults.
 */
export const Section = <T extends Type.TProperties>(properties: T, description: string) =>
  Type.Object(properties, { additionalProperties: false, default: {}, description });
