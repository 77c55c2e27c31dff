import { errorText } from 'auraison-edge/util';
/**
 * Which robot-supplied status page URLs the fleet page may show as links. A robot's status and heartbeat name
 * its page (`status_url`), and a robot's login, or any client of a broker without an ACL, may name any URL
 * there: a link would take the operator, with the page's origin, wherever it says. So the page links only
 * URLs that match one of central.yaml's `http.allowed_status_urls`, and shows the rest as text.
 */

/** Longer URLs are never linked: no status page needs one, and the patterns never run over a huge string. */
const MAX_URL_CHARS = 2048;

/** The patterns as anchored regular expressions (each must match the whole URL), or the first that is not one. */
export function compileStatusUrlPatterns(patterns: string[]): RegExp[] | { index: number; error: string } {
  const compiled: RegExp[] = [];
  for (const [index, pattern] of patterns.entries()) {
    try {
      compiled.push(new RegExp(`^(?:${pattern})$`, 'u'));
    } catch (error) {
      return { index, error: errorText(error) };
    }
  }
  return compiled;
}

/** Whether `url` may be a link: http(s), not too long, and matching one of `patterns` whole. */
export function isLinkableStatusUrl(url: string, patterns: RegExp[]): boolean {
  if (patterns.length === 0 || url.length > MAX_URL_CHARS || !URL.canParse(url)) return false;
  const { protocol } = new URL(url);
  if (protocol !== 'http:' && protocol !== 'https:') return false;
  return patterns.some((p) => p.test(url));
}
