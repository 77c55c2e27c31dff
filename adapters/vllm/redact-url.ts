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
