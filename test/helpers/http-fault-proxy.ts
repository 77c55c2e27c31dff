import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** What the proxy does to one request instead of forwarding it untouched. */
export type HttpFault =
  /** Answers this status with an S3-style XML error, forwards nothing; `early`: before reading the body. */
  | { kind: 'status'; status: number; code?: string; early?: boolean }
  /** Forwards, then drops both connections once this many body bytes went through (a link cut mid-upload). */
  | { kind: 'drop'; afterBytes: number }
  /** Reads nothing more and never answers (until the client gives up or the proxy stops). */
  | { kind: 'stall' };

export interface ProxiedRequest {
  method: string;
  url: string;
  /** Presigned (query-string signature): an upload to a granted URL, not the SDK's own calls. */
  presigned: boolean;
  /** The how-manyth request the proxy sees (from 1). */
  n: number;
  /** Body bytes the client sent in this request so far. */
  bodyBytes: number;
}

/**
 * An HTTP proxy in front of an object storage, on a loopback port: the network and the storage as a robot
 * sees them. URLs presigned for the proxy's address work through it (the Host header is kept). `fault` decides
 * each request's fate; `bodyBytes` counts the request body bytes clients sent it; `stop()` makes the storage
 * unreachable (connections refused, open ones dropped) and `start()` brings it back on the same port.
 */
export interface HttpFaultProxy {
  port: number;
  url: string;
  fault: ((r: ProxiedRequest) => HttpFault | undefined) | undefined;
  bodyBytes: number;
  requests: (ProxiedRequest & { status?: number })[];
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startHttpFaultProxy(targetPort: number): Promise<HttpFaultProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const proxy: HttpFaultProxy = {
    port: 0,
    url: '',
    fault: undefined,
    bodyBytes: 0,
    requests: [],
    stop: async () => {
      const s = server;
      server = undefined;
      for (const sock of sockets) sock.destroy();
      sockets.clear();
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    start: async () => {
      const s = createServer((req, res) => handle(req, res, decide(req)));
      // `Expect: 100-continue`: a refusal comes before the body, as a storage's does; otherwise go on.
      s.on('checkContinue', (req, res) => {
        const fault = decide(req);
        if (fault?.kind !== 'status' || !fault.early) res.writeContinue();
        handle(req, res, fault);
      });
      s.on('connection', (sock) => {
        sockets.add(sock);
        sock.on('close', () => sockets.delete(sock));
      });
      await new Promise<void>((resolve) => s.listen(proxy.port, '127.0.0.1', resolve));
      server = s;
      proxy.port = (s.address() as { port: number }).port;
      proxy.url = `http://127.0.0.1:${proxy.port}`;
    },
    close: () => proxy.stop(),
  };

  const infos = new WeakMap<IncomingMessage, ProxiedRequest & { status?: number }>();

  function decide(req: IncomingMessage): HttpFault | undefined {
    const info: ProxiedRequest & { status?: number } = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      presigned: /[?&]X-Amz-Signature=/.test(req.url ?? ''),
      n: proxy.requests.length + 1,
      bodyBytes: 0,
    };
    proxy.requests.push(info);
    infos.set(req, info);
    return proxy.fault?.(info);
  }

  function handle(req: IncomingMessage, res: ServerResponse, fault: HttpFault | undefined): void {
    const info = infos.get(req)!;
    req.on('data', (d: Buffer) => {
      proxy.bodyBytes += d.length;
      info.bodyBytes += d.length;
    });
    if (fault?.kind === 'stall') {
      req.pause();
      return;
    }
    if (fault?.kind === 'status') {
      const answer = () => {
        info.status = fault.status;
        const code = fault.code ?? (fault.status === 403 ? 'AccessDenied' : 'InternalError');
        res.writeHead(fault.status, { 'content-type': 'application/xml', connection: 'close' });
        res.end(`<?xml version="1.0"?><Error><Code>${code}</Code><Message>injected by the proxy</Message></Error>`);
      };
      if (fault.early) answer();
      else req.resume().on('end', answer);
      return;
    }
    const headers = { ...req.headers };
    delete headers.expect; // the proxy answered the client's Expect itself; the body follows at once
    const upstream = request({
      host: '127.0.0.1',
      port: targetPort,
      method: req.method,
      path: req.url,
      headers,
    });
    const drop = () => {
      req.socket.destroy();
      upstream.destroy();
    };
    upstream.on('error', drop);
    upstream.on('response', (up) => {
      info.status = up.statusCode;
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    if (fault?.kind === 'drop') {
      let through = 0;
      req.on('data', (d: Buffer) => {
        through += d.length;
        if (through >= fault.afterBytes) drop();
      });
    }
    req.pipe(upstream);
  }

  await proxy.start();
  return proxy;
}
