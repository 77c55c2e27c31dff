/** The fields policy hooks read from tool inputs. Inputs were validated against the skill's schema already. */
export type Twist = { linear: { x: number; y: number; z: number }; angular: { x: number; y: number; z: number } };

export function field<T>(input: unknown, key: string): T | undefined {
  if (input === null || typeof input !== 'object') return undefined;
  return (input as Record<string, unknown>)[key] as T | undefined;
}

/** A partial Twist (the model may send only linear.x) with every missing component 0. */
export function fullTwist(value: unknown): Twist {
  const o = (value ?? {}) as Record<string, unknown>;
  return { linear: vector(o.linear), angular: vector(o.angular) };
}

/** Whether a Twist moves the robot: any component not 0. */
export function twistMoves(t: Twist): boolean {
  return (
    t.linear.x !== 0 ||
    t.linear.y !== 0 ||
    t.linear.z !== 0 ||
    t.angular.x !== 0 ||
    t.angular.y !== 0 ||
    t.angular.z !== 0
  );
}

// Module-level helpers, not closures: tsx names every named closure with a defineProperty call, per call.
function vector(v: unknown): Twist['linear'] {
  const o = (v ?? {}) as Record<string, unknown>;
  return { x: numberOr0(o.x), y: numberOr0(o.y), z: numberOr0(o.z) };
}

function numberOr0(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}
