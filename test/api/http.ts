/** TEST ONLY. One HTTP request to the API, its reply parsed. */
export interface HttpReply {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown> & { error?: string; message?: string; issues?: { path: string; message: string }[] };
}

export async function http(
  base: string,
  path: string,
  options: { method?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<HttpReply> {
  const {
    method = options.body !== undefined || options.raw !== undefined ? 'POST' : 'GET',
    body,
    raw,
    headers = {},
  } = options;
  const h: Record<string, string> = { ...headers };
  // As the CLI: a body-less POST says JSON too, which the API requires of every state-changing request.
  const bodyless = body === undefined && raw === undefined && method !== 'GET' && method !== 'HEAD';
  if ((body !== undefined || bodyless) && !Object.keys(h).some((k) => k.toLowerCase() === 'content-type'))
    h['content-type'] = 'application/json';
  const response = await fetch(`${base}${path}`, {
    method,
    headers: h,
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  const text = await response.text();
  let json: HttpReply['json'] = {};
  try {
    json = JSON.parse(text) as HttpReply['json'];
  } catch {
    // not JSON (metrics, the page): the test reads `text`
  }
  return { status: response.status, headers: response.headers, text, json };
}
