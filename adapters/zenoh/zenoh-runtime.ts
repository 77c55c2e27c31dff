import { register } from 'node:module';

export type ZenohModule = typeof import('@eclipse-zenoh/zenoh-ts');

/**
 * A module loader hook that does for zenoh-ts's one `.wasm` import (its key expression library) what Node 22
 * does natively and Node 20 does only under --experimental-wasm-modules: the .wasm becomes an ES module whose
 * imports are the JS modules it names and whose exports are the instance's. Hooks run on their own thread
 * in Node 20, so this is plain JS in a data: URL (no file to find once the daemon is compiled to dist/).
 */
const WASM_HOOK = `
export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.wasm')) return nextLoad(url, context);
  const { readFile } = await import('node:fs/promises');
  const mod = await WebAssembly.compile(await readFile(new URL(url)));
  const froms = [...new Set(WebAssembly.Module.imports(mod).map((i) => i.module))];
  const names = WebAssembly.Module.exports(mod).map((e) => e.name);
  const source = [
    "import { readFileSync } from 'node:fs';",
    ...froms.map((m, i) => 'import * as i' + i + ' from ' + JSON.stringify(m) + ';'),
    'const bytes = readFileSync(new URL(import.meta.url));',
    'const imports = {' + froms.map((m, i) => JSON.stringify(m) + ': i' + i).join(', ') + '};',
    'const x = new WebAssembly.Instance(new WebAssembly.Module(bytes), imports).exports;',
    ...names.map((n, i) => 'const e' + i + ' = x[' + JSON.stringify(n) + ']; export { e' + i + ' as ' + JSON.stringify(n) + ' };'),
  ].join('\\n');
  return { format: 'module', source, shortCircuit: true };
}`;

const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

/**
 * The largest message the daemon's WebSocket to the remote-api bridge reads: 1 GiB, Zenoh's own largest message
 * (`transport/link/rx/max_message_size`, which the bridge's runtime will not pass beyond), and 1 MiB for what
 * the bridge's message holds besides the payload (key, encoding, attachment).
 */
export const WEBSOCKET_MAX_MESSAGE_BYTES = 2 ** 30 + 2 ** 20;

let loading: Promise<ZenohModule> | undefined;

/**
 * Loads zenoh-ts, on Node 20 as on 22+, with no command-line flag: on Node 20 it registers the .wasm hook
 * above, and on every Node it gives zenoh-ts the `ws` package's WebSocket as the global one, which has the
 * browser API it uses (binaryType, onmessage, bufferedAmount). Also where Node has a global WebSocket of its own
 * (22+, or 20 under --experimental-websocket): that one has no maxPayload nor the error that names a message
 * over it, so a message past WEBSOCKET_MAX_MESSAGE_BYTES would not be refused and named (SessionSocket).
 */
export function loadZenoh(): Promise<ZenohModule> {
  loading ??= (async () => {
    if (NODE_MAJOR < 22 && !process.execArgv.includes('--experimental-wasm-modules')) {
      register(`data:text/javascript,${encodeURIComponent(WASM_HOOK)}`);
    }
    const { WebSocket } = await import('ws');
    type ClientOptions = ConstructorParameters<typeof WebSocket>[2];
    // zenoh-ts calls the global constructor; the two classes differ only in what it does not use. Each socket
    // gets an 'error' listener of its own: zenoh-ts 1.10.1's RemoteLink.new, retrying an open, makes a socket
    // it never uses nor listens to (`ws = new WebSocket(...)` before "Restart connection"), and a `ws` socket's
    // error with no listener is thrown: an uncaught ECONNREFUSED whenever the bridge went away mid-open. The
    // sockets zenoh-ts does use still get their errors through its own `onerror`.
    // Messages up to WEBSOCKET_MAX_MESSAGE_BYTES: ws's own 100 MiB limit closed the session on a larger sample,
    // losing every topic with it; the daemon drops a sample over zenoh.max_inbound_sample_bytes, session kept.
    class ListenedWebSocket extends WebSocket {
      constructor(address: string | URL, protocols?: string | string[], options?: ClientOptions) {
        super(address, protocols, { maxPayload: WEBSOCKET_MAX_MESSAGE_BYTES, ...options });
        this.on('error', () => {});
      }
    }
    (globalThis as { WebSocket?: unknown }).WebSocket = ListenedWebSocket;
    return import('@eclipse-zenoh/zenoh-ts');
  })();
  return loading;
}

let quieted = 0;
let original: Pick<Console, 'log' | 'warn'> | undefined;
const sinks = new Set<(text: string) => void>();

/**
 * Sends console.log and console.warn to `sink` until the returned function is called: zenoh-ts prints with
 * them while a session opens, and the daemon's stdout is a CLI's output and its stderr a JSON log. Counted,
 * so two sessions opening at once restore the console once, to what it was.
 */
export function quietConsole(sink: (text: string) => void): () => void {
  if (quieted++ === 0) {
    original = { log: console.log, warn: console.warn };
    console.log = console.warn = (...args: unknown[]) => {
      const text = args.map(String).join(' ');
      for (const s of sinks) s(text);
    };
  }
  sinks.add(sink);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    sinks.delete(sink);
    if (--quieted === 0 && original) Object.assign(console, original);
  };
}
