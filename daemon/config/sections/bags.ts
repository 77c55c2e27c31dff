import type Type from 'typebox';

/**
 * Config sections of issue 3: recorder, lakehouse, retention. Each entry is one top-level key of the config file,
 * spread into EdgeConfigSchema; use `Section(...)` from ../section.ts so every key has a default
 * (see SimConfig in ../schema.ts), and document every key in edge.example.yaml.
 */
export const BAGS_SECTIONS = {} satisfies Type.TProperties;
