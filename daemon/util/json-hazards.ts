import { formatPath, type ValidationIssue } from './validate.ts';

/** How deep objects and arrays in data from outside may nest, counted from a top-level key's value. */
export const MAX_JSON_DEPTH = 64;

/**
 * The first thing in parsed JSON from outside that is refused before it is validated, or undefined:
 * - nesting deeper than MAX_JSON_DEPTH: validating, copying or describing it recurses, and thousands of
 *   levels overflow the stack. The issue names the top-level key it is under (`params`).
 * - a non-finite number: JSON has none, but a literal too large for a double (`1e309`) parses as Infinity,
 *   which would be stored and sent on as `null`.
 * - a `__proto__` key, or `constructor.prototype`: JSON.parse keeps them as plain keys, but copying the
 *   value with assignment would set an object's prototype.
 * The walk stops at the first one, and never goes deeper than MAX_JSON_DEPTH + 1.
 */
export function jsonHazard(value: unknown): ValidationIssue | undefined {
  const path: string[] = [];
  const walk = (v: unknown, depth: number): ValidationIssue | undefined => {
    if (typeof v === 'number')
      return Number.isFinite(v)
        ? undefined
        : { path: formatPath(path), message: 'non-finite number: JSON numbers must fit a double (|x| < 1.8e308)' };
    if (v === null || typeof v !== 'object') return undefined;
    if (depth > MAX_JSON_DEPTH)
      return { path: formatPath(path.slice(0, 1)), message: `nested deeper than ${MAX_JSON_DEPTH} levels` };
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        path.push(String(i));
        const found = walk(v[i], depth + 1);
        path.pop();
        if (found) return found;
      }
      return undefined;
    }
    const record = v as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (key === '__proto__') return { path: formatPath(path), message: 'key __proto__ is not allowed' };
      const child = record[key];
      if (key === 'constructor' && child !== null && typeof child === 'object' && Object.hasOwn(child, 'prototype')) {
        return { path: formatPath(path), message: 'key constructor.prototype is not allowed' };
      }
      path.push(key);
      const found = walk(child, depth + 1);
      path.pop();
      if (found) return found;
    }
    return undefined;
  };
  return walk(value, 0);
}
