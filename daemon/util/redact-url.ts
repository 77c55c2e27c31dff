/**
 * A URL as it may be shown (status, logs, errors): a password in its userinfo (`http://user:pw@host`)
 * becomes `***`. Works on text that does not parse as a URL, too, since that is where a typo leaves one.
 */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^/?#@]*)@/i, (_, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    return `${scheme}${colon === -1 ? '***' : `${userinfo.slice(0, colon)}:***`}@`;
  });
}

/**
 * What is wrong with an endpoint's base URL, in words, or undefined: a typo found at start, not at the
 * first request.
 */
export function baseUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${JSON.stringify(redactUrl(url))} is not a URL: write it in full, e.g. http://localhost:8000/v1`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    // `localhost:8000/v1` parses with `localhost:` as its scheme.
    return `expected an http:// or https:// URL, got ${JSON.stringify(redactUrl(url))}${/^[a-z0-9.-]+:\d/i.test(url) ? ` (did you mean "http://${url}"?)` : ''}`;
  }
  return undefined;
}

/**
 * A base URL without its userinfo, and that userinfo as an `Authorization: Basic` header (a proxy in front
 * of vLLM, say). Node's fetch refuses a URL with credentials, so they cannot travel in it.
 */
export function splitCredentials(url: string): { url: string; authorization: string | undefined } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { url, authorization: undefined };
  }
  if (parsed.username === '' && parsed.password === '') return { url, authorization: undefined };
  const basic = Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString(
    'base64',
  );
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.toString(), authorization: `Basic ${basic}` };
}
