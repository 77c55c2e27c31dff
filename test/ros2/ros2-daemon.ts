import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runCli, tempDir, type CliResult } from '../helpers/cli.ts';
import { stopChild } from '../helpers/stop-child.ts';
import { DaemonProcess } from '../agent/daemon-process.ts';

interface DaemonStatusJson {
  components: Record<string, { state: string; details?: Record<string, unknown> }>;
  topics: unknown[];
}

/**
 * `auraison-edge run` as a child process in a ROS 2 environment (test/ros2/ros2-env.ts), with `ros.enabled` and the
 * rclnodejs built against that ROS 2: the daemon as a robot runs it next to its nodes. A child, not this process: the
 * ROS 2 libraries rclnodejs links are found through the LD_LIBRARY_PATH a process starts with.
 */
export class Ros2Daemon {
  readonly dir: string;
  readonly config: string;
  readonly env: NodeJS.ProcessEnv;
  readonly process: DaemonProcess;
  #cleanup: () => void;

  private constructor(options: { env: NodeJS.ProcessEnv; config: Record<string, unknown> }) {
    const { env, config } = options;
    const dir = tempDir('ros2-daemon-');
    this.dir = dir.path;
    this.#cleanup = dir.cleanup;
    this.env = env;
    this.config = join(dir.path, 'edge.yaml');
    const base = { data_dir: './data', log: { level: 'info' }, api: { port: 0 }, foxglove: { port: 0 } };
    writeFileSync(this.config, stringify({ ...base, ...config }));
    this.process = new DaemonProcess(dir.path, this.config, env);
  }

  /** Starts the daemon with `ros` over `ros.enabled: true` and `extra` config beside it; resolves once it runs. */
  static async start(
    env: NodeJS.ProcessEnv,
    ros: Record<string, unknown>,
    extra: Record<string, unknown> = {},
  ): Promise<Ros2Daemon> {
    const daemon = new Ros2Daemon({ env, config: { ros: { enabled: true, graph_poll_ms: 200, ...ros }, ...extra } });
    try {
      await daemon.process.running();
    } catch (error) {
      await daemon.stop();
      throw error;
    }
    return daemon;
  }

  /** Runs an `auraison-edge` client command against this daemon (its config, its dir). */
  cli(args: string[], timeoutMs = 60_000): Promise<CliResult> {
    return runCli([...args, '--config', this.config], { cwd: this.dir, env: this.env, timeoutMs });
  }

  /** The daemon's status, as `auraison-edge status --json` gives it (GET /status). */
  async status(): Promise<DaemonStatusJson> {
    const { stdout, code, stderr } = await this.cli(['status', '--json']);
    if (code !== 0 && code !== 3) throw new Error(`auraison-edge status failed (${code}): ${stderr}`);
    return (JSON.parse(stdout) as { status: DaemonStatusJson }).status;
  }

  /** The ros component's status details. */
  async rosDetails(): Promise<Record<string, unknown>> {
    return (await this.status()).components.ros?.details ?? {};
  }

  /** SIGINT, as Ctrl-C; resolves with the exit code once it has exited. */
  async stop(): Promise<number | null> {
    await stopChild(this.process.child, 'SIGINT');
    const code = await this.process.exited;
    this.#cleanup();
    return code;
  }
}
