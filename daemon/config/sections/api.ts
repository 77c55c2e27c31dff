import type Type from 'typebox';

/**
 * Config sections of issue 6: api (HTTP), foxglove. Each entry is one top-level key of the config file,
 * spread into EdgeConfigSchema; use `Section(...)` from ../section.ts so every key has a default
 * (see SimConfig in ../schema.ts), and document every key in edge.example.yaml.
 */
export const API_SECTIONS = {} satisfies Type.TProperties;
