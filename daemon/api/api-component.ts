import type { AddressInfo } from 'node:net';
import type { ApiSettings } from '../config/index.ts';
import type { Component, ComponentContext, ComponentHealth } from '../lifecycle/index.ts';
import { isDiskFull, errorText } from '../util/index.ts';
import { apiFilePath, removeApiFile, writeApiFile } from './discovery.ts';
import { buildApiServer, type ApiServer } from './server.ts';
import { HaltListener } from './halt-listener.ts';

/**
 * Component `api`: the local HTTP API and status page, and the stop listener (POST /stop on a thread and a port
 * of its own, motion.stop.port). On start it listens and writes <data_dir>/run/api.json (its URL and the stop
 * listener's) for the CLI; on stop it ends the event streams first, then closes, the stop listener last.
 */
export class ApiComponent implements Component {
  readonly name = 'api';
  #ctx: ComponentContext;
  #settings: ApiSettings;
  #server: ApiServer | undefined;
  #url: string | undefined;
  #stopListener: HaltListener | undefined;

  constructor(ctx: ComponentContext, settings: ApiSettings = ctx.config.api) {
    this.#ctx = ctx;
    this.#settings = settings;
  }

  /** The URL it listens on, once started. */
  get url(): string | undefined {
    return this.#url;
  }

  get server(): ApiServer | undefined {
    return this.#server;
  }

  async start(): Promise<void> {
    const { host, port } = this.#settings;
    const server = await buildApiServer(this.#ctx, this.#settings, () => {
      const url = this.#stopListener?.url;
      return url === undefined ? undefined : new URL(url).port;
    });
    try {
      await server.app.listen({ host, port });
    } catch (error) {
      await server.close();
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE')
        throw new Error(`api: ${host}:${port} is in use (another daemon?): set api.port to a free port, or 0 for any`);
      throw new Error(`api: cannot listen on ${host}:${port}: ${errorText(error)}`);
    }
    const address = server.app.server.address() as AddressInfo;
    const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    this.#url = `http://${shownHost}:${address.port}`;
    this.#server = server;
    if (this.#ctx.config.motion.stop.listener) {
      const listener = new HaltListener({
        haltAuthority: this.#ctx.haltAuthority,
        host,
        port: this.#ctx.config.motion.stop.port ?? (port === 0 ? 0 : port + 1),
        token: this.#settings.token,
        apiUrl: this.#url,
        log: this.#ctx.log,
        ...(server.mcpStops ? { mcp: { stops: server.mcpStops, bodyLimit: this.#settings.body_limit_bytes } } : {}),
        scheduling: {
          policy: this.#ctx.config.motion.stop.scheduling,
          rtPriority: this.#ctx.config.motion.stop.rt_priority,
          nice: this.#ctx.config.motion.stop.nice,
        },
      });
      try {
        await listener.start();
      } catch (error) {
        await server.close();
        throw error;
      }
      this.#stopListener = listener;
    }
    const stopUrl = this.#stopListener?.url;
    const mcpUrl = this.#mcpUrl;
    try {
      writeApiFile(this.#ctx.dataDir, {
        url: this.#url,
        ...(stopUrl ? { stop_url: stopUrl } : {}),
        ...(mcpUrl ? { mcp_url: mcpUrl } : {}),
        pid: process.pid,
        data_dir: this.#ctx.dataDir,
      });
    } catch (error) {
      // The API serves without it: on a full disk /status must answer, it is where the disk full shows. The
      // CLI then finds the API by api.host and api.port (a file left by a dead daemon names a dead pid and
      // is passed over).
      if (!isDiskFull(error)) throw error;
      this.#ctx.log.warn(
        { err: errorText(error) },
        `api: cannot write ${apiFilePath(this.#ctx.dataDir)}: the disk is full; serving anyway. The CLI finds the API by api.port${port === 0 ? ` (0 here: give the CLI --url ${this.#url})` : ''}`,
      );
    }
    this.#ctx.log.info({ url: this.#url, stop_url: stopUrl ?? null }, 'api listening');
  }

  /** Where an MCP client is sent (with `mcp.enabled`): the stop listener's /mcp, else the API's. */
  get #mcpUrl(): string | undefined {
    if (!this.#server?.mcpStops) return undefined;
    return `${this.#stopListener?.url ?? this.#url}/mcp`;
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    removeApiFile(this.#ctx.dataDir);
    await server?.close();
    // Last: the operator's stop is taken while anything of the API still answers.
    await this.#stopListener?.close();
    this.#stopListener = undefined;
  }

  health(): ComponentHealth {
    if (!this.#server) return { state: 'stopped' };
    return {
      state: 'running',
      details: {
        url: this.#url,
        stop_url: this.#stopListener?.url ?? null,
        ...(this.#server.mcpStops ? { mcp_url: this.#mcpUrl } : {}),
        ...(this.#stopListener
          ? {
              stop_listener: {
                ...this.#stopListener.counters,
                scheduling: this.#stopListener.scheduling?.summary ?? null,
                tid: this.#stopListener.scheduling?.tid ?? null,
              },
            }
          : {}),
        sse_clients: this.#server.hub.clients,
        live_map_viewers: this.#server.live.viewers,
      },
    };
  }
}
