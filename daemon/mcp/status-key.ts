/** What a status subscriber is told about: the components' states, readiness and the stop latch. */
export function statusKey(status: unknown): string {
  const s = status as {
    components?: Record<string, { state?: unknown; reason?: unknown; details?: { stop_latch?: unknown } }>;
    readiness?: { ready?: unknown };
  };
  const components = Object.entries(s.components ?? {}).map(([name, c]) => [
    name,
    c.state,
    c.reason ?? null,
    c.details?.stop_latch ?? null,
  ]);
  // Rates and counters change every second: only the states a person would call a change are compared.
  return JSON.stringify([components, s.readiness?.ready ?? null]);
}
