/** The fields policy hooks read from tool inputs. Inputs were validated against the skill's schema already. */
export type Twist = { linear: { x: number; y: number; z: number }; angular: { x: number; y: number; z: number } };

export function field<T>(input: unknown, key: string): T | undefined {
  if (input === null || typeof input !== 'object') return undefined;
  return (input as Record<string, unknown>)[key] as T | undefined;
}

/** A partial Twist (the model may send only linear.x) with every missing component 0. */
export function fullTwist(value: unknown): Twist {
  const part = (v: unknown) => {
    const o = (v ?? {}) as Record<string, unknown>;
    const n = (k: string) => (typeof o[k] === 'number' ? (o[k] as number) : 0);
    return { x: n('x'), y: n('y'), z: n('z') };
  };
  const o = (value ?? {}) as Record<string, unknown>;
  return { linear: part(o.linear), angular: part(o.angular) };
}
