import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { API_ERRORS } from './error-codes.ts';
import { apiErrorReply, type ErrorBody } from './http-error.ts';

// Shared by the API (fastify's clientErrorHandler) and the stop listener's thread (its server's 'clientError'), so
// both answer a request node refused the same way. Node alone: the listener's thread loads no more than a stop needs.

/**
 * Answers a request node's HTTP parser refused before a route saw it (headers or URL too long, a request
 * that did not arrive in time, malformed HTTP) in the API's error shape, then closes the connection as
 * node does. Fastify's own handler writes `{error: "Request Header Fields Too Large", statusCode}`, and
 * node's a bare status. `timeoutSetting` names what bounds a request's time (`api.request_timeout_s`).
 * Returns the error code it answered with, for the metrics; undefined when the client was already gone.
 */
export function clientErrorHandler(
  error: Error & { code?: string },
  socket: Duplex,
  timeoutSetting = 'api.request_timeout_s',
): string | undefined {
  if (error.code === 'ECONNRESET' || socket.destroyed) return undefined; // the client is gone: nobody to answer
  const { status, body } = clientErrorReply(error, timeoutSetting);
  // A reply already under way on this socket (an event stream opened before its request's body came in
  // full) must not get another status line in the middle of it: the connection just closes, as node does.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const text = JSON.stringify(body);
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    );
  }
  socket.destroy(error);
  return body.error;
}

function clientErrorReply(
  error: Error & { code?: string },
  timeoutSetting: string,
): { status: number; body: ErrorBody } {
  if (error.code === 'HPE_HEADER_OVERFLOW')
    return apiErrorReply(
      'headers_too_large',
      `the request line and headers (the URL included) passed ${maxHeaderSize} bytes: send a shorter URL or fewer headers`,
    );
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    const { body } = apiErrorReply(
      'timeout',
      `the request did not arrive whole within ${timeoutSetting}: send it again`,
    );
    return { status: API_ERRORS.timeout.alsoStatus.status, body };
  }
  return apiErrorReply('bad_request', `malformed HTTP request (${error.code ?? error.message})`);
}
