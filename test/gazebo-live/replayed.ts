import { spawn } from 'node:child_process';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN } from '../helpers/cli.ts';
import { waitForValue } from '../helpers/wait.ts';

export type LivePose = { x: number; y: number; yaw: number; linear: number };

/** A port nothing listens on now, for a daemon whose API the test must reach before it logs. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * `auraison-edge bag play BAG` in a daemon of its own (the sim off), watched as the status page watches a robot:
 * the robot poses its live map (GET /live/map, fed from the bus) sends while the bag plays, in order.
 */
export async function replayedPoses(bag: string, dir: string, rate = 8): Promise<LivePose[]> {
  const port = await freePort();
  const config = join(dir, 'play.yaml');
  writeFileSync(config, `data_dir: ./play-data\napi: {port: ${port}}\nfoxglove: {port: 0}\nlog: {level: info}\n`);
  const play = spawn(process.execPath, [BIN, 'bag', 'play', bag, '--rate', String(rate), '--config', config], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  play.stdout.on('data', (d: Buffer) => (output += d.toString()));
  play.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => play.on('close', resolve));
  const poses: LivePose[] = [];
  let buffered = '';
  const request = await waitForValue(
    () =>
      new Promise<ReturnType<typeof get> | false>((resolve) => {
        const req = get(`http://127.0.0.1:${port}/live/map`, (res) => {
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buffered += chunk;
            let end: number;
            while ((end = buffered.indexOf('\n\n')) >= 0) {
              const frame = buffered.slice(0, end);
              buffered = buffered.slice(end + 2);
              const kind = /^event: (\w+)$/m.exec(frame)?.[1];
              const data = /^data: (.*)$/m.exec(frame)?.[1];
              if (kind === 'pose' && data) poses.push(JSON.parse(data) as LivePose);
            }
          });
          resolve(req);
        });
        req.on('error', () => resolve(false));
      }),
    `bag play's API on port ${port}: ${output}`,
    120_000,
  );
  const code = await exited;
  request.destroy();
  if (code !== 0) throw new Error(`bag play exited ${code}: ${output}`);
  return poses;
}
