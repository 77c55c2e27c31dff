import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { waitForValue } from '../helpers/wait.ts';
import { errorText } from '../../daemon/util/index.ts';

/** Where test/systemd/build-root leaves the Debian root (its recipe in .auraison-recipe once finished). */
export const DEBIAN_ROOT = join(
  process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'),
  'auraison-edge-peers/systemd-root/bookworm',
);
/** Where the checkout and the host's node appear inside the container (outside /tmp: the unit has PrivateTmp). */
export const CHECKOUT_IN_CONTAINER = '/opt/auraison-edge';
export const NODE_IN_CONTAINER = '/usr/local/bin/node';
/** The unit's state directory (StateDirectory=auraison-edge): the host's `stateDir` is bound there. */
export const STATE_DIRECTORY = '/var/lib/auraison-edge';

/** Why the container cannot boot here, or undefined when it can. */
export function whyNoContainer(): string | undefined {
  if (process.getuid?.() !== 0) return 'systemd-nspawn needs root (CI runs as root)';
  if (spawnSync('systemd-nspawn', ['--version']).status !== 0)
    return 'systemd-nspawn is missing (apt-get install systemd-container)';
  if (spawnSync('nsenter', ['--version']).status !== 0) return 'nsenter is missing (util-linux)';
  if (!existsSync(join(DEBIAN_ROOT, '.auraison-recipe')))
    return `no Debian root at ${DEBIAN_ROOT}: run \`bash test/systemd/build-root\` (as root, once per machine)`;
  return undefined;
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * A Debian root booted with systemd as its PID 1 (systemd-nspawn --boot), sharing the host's network. Its
 * root is an overlay on the cached one (--volatile=overlay), so nothing a test does there outlives it. The
 * host runs no systemd, hence --register=no and --keep-unit, and a tmpfs on /run/systemd/nspawn, where
 * nspawn keeps its state. `destroy()` always ends it, also when the boot failed half-way.
 */
export class BootedContainer {
  readonly pid1: number;
  #nspawn: ChildProcess;
  #console: { text: string };

  private constructor(nspawn: ChildProcess, pid1: number, console: { text: string }) {
    this.#nspawn = nspawn;
    this.pid1 = pid1;
    this.#console = console;
  }

  /** Boots the root and waits until its systemd says the system is up; `binds` are host:container paths. */
  static async boot(options: { checkout: string; stateDir: string }): Promise<BootedContainer> {
    const { checkout, stateDir } = options;
    mountNspawnState();
    const nspawn = spawn(
      'systemd-nspawn',
      [
        `--directory=${DEBIAN_ROOT}`,
        '--boot',
        '--register=no',
        '--keep-unit',
        '--volatile=overlay',
        '--console=pipe',
        `--bind-ro=${checkout}:${CHECKOUT_IN_CONTAINER}`,
        `--bind-ro=${process.execPath}:${NODE_IN_CONTAINER}`,
        `--bind=${stateDir}:${STATE_DIRECTORY}`,
      ],
      // Its own process group: the teardown kills the whole of it.
      { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv() },
    );
    const console = { text: '' };
    const keep = (d: Buffer) => (console.text = (console.text + d.toString()).slice(-20_000));
    nspawn.stdout?.on('data', keep);
    nspawn.stderr?.on('data', keep);
    let pid1: number | undefined;
    try {
      pid1 = await waitForValue(
        () => nspawn.exitCode === null && childOf(nspawn.pid!),
        'the container to start its PID 1',
        30_000,
      );
      const container = new BootedContainer(nspawn, pid1, console);
      // Until PID 1 has opened its socket, systemctl answers at once: "offline", or "Failed to connect to bus".
      const up = await waitForValue(
        () => {
          const r = container.run(['systemctl', 'is-system-running', '--wait'], 90_000);
          return !r.stderr.includes('Failed to connect') && r.stdout.trim() !== 'offline' && r;
        },
        "the container's systemd to answer",
        30_000,
      );
      // degraded: some unit of the minimal root failed; ours does not depend on it.
      if (!['running', 'degraded'].includes(up.stdout.trim()))
        throw new Error(`the container's systemd did not come up: ${up.stdout}${up.stderr}`);
      return container;
    } catch (error) {
      await new BootedContainer(nspawn, pid1 ?? 0, console).destroy();
      throw new Error(`${errorText(error)}\nsystemd-nspawn's console:\n${console.text}`, { cause: error });
    }
  }

  /** Runs a command inside the container (all its namespaces), with a clean environment. */
  run(argv: string[], timeoutMs = 60_000): RunResult {
    const r = spawnSync('nsenter', ['-t', String(this.pid1), '-a', ...argv], {
      encoding: 'utf8',
      timeout: timeoutMs,
      env: cleanEnv(),
    });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
  }

  /** `systemctl ARGS` inside; throws, with its output, unless it exits 0. */
  systemctl(...args: string[]): string {
    const r = this.run(['systemctl', '--no-pager', ...args]);
    if (r.status !== 0) throw new Error(`systemctl ${args.join(' ')} exited ${r.status}: ${r.stdout}${r.stderr}`);
    return r.stdout;
  }

  /** `systemctl show -p ...` as an object. */
  show(unit: string, ...properties: string[]): Record<string, string> {
    const out = this.systemctl('show', unit, ...properties.map((p) => `--property=${p}`));
    return Object.fromEntries(
      out
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
  }

  /**
   * The host's id of thread `tid` of `pid`, a service's main process (a child of the container's PID 1),
   * both as the container numbers them: what a host tool such as ptrace needs. NSpid in /proc lists a
   * task's ids from the host's namespace inwards.
   */
  hostTid(pid: number, tid: number): number {
    const innermost = (task: string) => Number(/^NSpid:.*\s(\d+)$/m.exec(readFileSync(`${task}/status`, 'utf8'))?.[1]);
    const services = readFileSync(`/proc/${this.pid1}/task/${this.pid1}/children`, 'utf8').trim().split(/\s+/);
    const hostPid = services.find((p) => innermost(`/proc/${p}`) === pid);
    if (hostPid === undefined) throw new Error(`no process ${pid} among the children of the container's PID 1`);
    const task = readdirSync(`/proc/${hostPid}/task`).find((t) => innermost(`/proc/${hostPid}/task/${t}`) === tid);
    if (task === undefined) throw new Error(`no thread ${tid} in process ${pid} (host pid ${hostPid})`);
    return Number(task);
  }

  /** A path of the container's file system as the host sees it. */
  path(inside: string): string {
    return join(`/proc/${this.pid1}/root`, inside);
  }

  /** The last of what the container printed (its boot messages). */
  get console(): string {
    return this.#console.text;
  }

  /**
   * Ends the container whatever its state: PID 1 killed (which ends everything in its PID namespace), then
   * nspawn's process group; waits for nspawn to exit, so its overlay is gone when this returns.
   */
  async destroy(): Promise<void> {
    const nspawn = this.#nspawn;
    if (this.pid1 > 0) signal(this.pid1, 'SIGKILL');
    const exited = new Promise<void>((resolve) => {
      if (nspawn.exitCode !== null || nspawn.signalCode !== null) resolve();
      else nspawn.once('exit', () => resolve());
    });
    const timer = setTimeout(() => signal(-nspawn.pid!, 'SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    signal(-nspawn.pid!, 'SIGKILL'); // whatever it left in its group
  }
}

/** nspawn keeps its state in /run/systemd/nspawn, which a host without systemd lacks: a tmpfs there. */
function mountNspawnState(): void {
  const dir = '/run/systemd/nspawn';
  mkdirSync(dir, { recursive: true });
  if (spawnSync('mountpoint', ['-q', dir]).status === 0) return;
  const r = spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mount -t tmpfs tmpfs ${dir} failed: ${r.stderr}`);
}

/** nspawn's child that runs systemd (the container's PID 1), or undefined before it has one. */
function childOf(pid: number): number | undefined {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    // nspawn's first child only sets up, and then forks PID 1 and exits.
    return children.map(Number).find((child) => readFileSync(`/proc/${child}/comm`, 'utf8').trim() === 'systemd');
  } catch {
    return undefined; // not there yet, or gone: the caller waits, or sees nspawn's exit
  }
}

/** No variables of the test's own (NODE_OPTIONS, vitest's, NODE_EXTRA_CA_CERTS) reach the container. */
function cleanEnv(): NodeJS.ProcessEnv {
  return { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone: that is what the caller wants
  }
}
