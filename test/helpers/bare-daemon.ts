/**
 * A daemon config with nothing beside what a test brings: no sim, Foxglove, API, lakehouse or retention. Spread it
 * under the sections the test is about.
 */
export const BARE_DAEMON = {
  sim: { enabled: false },
  foxglove: { enabled: false },
  api: { enabled: false },
  lakehouse: { enabled: false },
  retention: { enabled: false },
} as const;
