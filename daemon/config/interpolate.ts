/** A string value written with `${...}` in it: where it is and the text as written. */
export interface EnvTemplate {
  path: string[];
  text: string;
}

/**
 * Replaces `${VAR}` and `${VAR:-default}` in every string value of a parsed YAML tree. It runs after
 * parsing, so a secret can never inject YAML structure. `$${` is a literal `${`.
 * Returns the problems it met (an unset variable with no default) with their key paths, and every string
 * that had a reference, as written (so a config can be shown without the secrets it took from the
 * environment). An unset variable's reference is left in place as a placeholder, so the rest of the
 * config can still be validated and every problem reported in one pass.
 */
export function interpolateEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
): { value: unknown; problems: { path: string[]; message: string }[]; templates: EnvTemplate[] } {
  const problems: { path: string[]; message: string }[] = [];
  const templates: EnvTemplate[] = [];
  const walk = (v: unknown, p: string[]): unknown => {
    if (typeof v === 'string') return replace(v, p);
    if (Array.isArray(v)) return v.map((item, i) => walk(item, [...p, String(i)]));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) out[k] = walk(item, [...p, k]);
      return out;
    }
    return v;
  };
  const replace = (text: string, p: string[]): string => {
    let templated = false;
    const out = text.replace(
      /\$?\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
      (match, name: string, fallback: string | undefined) => {
        templated = true;
        if (match.startsWith('$$')) return match.slice(1);
        const found = env[name];
        if (found !== undefined && found !== '') return found;
        if (fallback !== undefined) return fallback;
        problems.push({
          path: p,
          message: `environment variable ${name} is not set (use \${${name}:-default} for a default)`,
        });
        return match;
      },
    );
    if (templated) templates.push({ path: p, text });
    return out;
  };
  return { value: walk(value, []), problems, templates };
}

/** A copy of `value` (the interpolated tree, or one grown from it) with each templated string put back as written. */
export function restoreTemplates(value: unknown, templates: readonly EnvTemplate[]): unknown {
  const copy = structuredClone(value);
  for (const { path, text } of templates) {
    let at: unknown = copy;
    for (const key of path.slice(0, -1))
      at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined;
    if (at !== null && typeof at === 'object') (at as Record<string, unknown>)[path.at(-1)!] = text;
  }
  return copy;
}
