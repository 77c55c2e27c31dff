import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, runMain, tempDir } from '../helpers/cli.ts';

// glibc gives each thread that allocates an arena of its own (up to 8 per core) and keeps what each freed:
// the daemon's DuckDB, libuv and worker threads held about 30 MB more that way in the soak (see
// systemd/auraison-edge.service.in). Both ways of running it for months start it with two arenas.
const work = tempDir('malloc-arenas-');
afterAll(() => work.cleanup());
const config = join(work.path, 'edge.yaml');
writeFileSync(config, 'robot:\n  id: tb3-01\nsim:\n  enabled: true\n');

describe('malloc arenas of a long-running daemon', () => {
  it('the systemd unit starts the daemon with MALLOC_ARENA_MAX=2, in its [Service] section', async () => {
    const r = await runMain(['install-service', '--config', config, '--run-as', 'root', '--dry-run'], {
      cwd: work.path,
    });
    expect(r.code).toBe(0);
    const service = r.stdout.slice(r.stdout.indexOf('[Service]'), r.stdout.indexOf('[Install]'));
    expect(service.split('\n').filter((l) => l.startsWith('Environment='))).toContain('Environment=MALLOC_ARENA_MAX=2');
  });

  it('the ros2 launch file starts the daemon with MALLOC_ARENA_MAX=2 on top of the launch environment', () => {
    // Loaded against the double of ros2 launch's API (test/doubles/ros2-launch): ROS 2 is not installed here.
    const script = `
import importlib.util, json, sys
from launch import LaunchContext
from launch.actions import OpaqueFunction
spec = importlib.util.spec_from_file_location('l', sys.argv[1])
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
ctx = LaunchContext({'node': 'node', 'respawn': 'false', 'config': ''})
procs = [p for e in m.generate_launch_description().entities if isinstance(e, OpaqueFunction) for p in e.function(ctx)]
print(json.dumps([{'env': p.kwargs.get('env'), 'additional_env': p.kwargs.get('additional_env')} for p in procs]))
`;
    const r = spawnSync('python3', ['-c', script, join(ROOT, 'launch/auraison_edge.launch.py')], {
      encoding: 'utf8',
      env: { ...process.env, PYTHONPATH: join(ROOT, 'test/doubles/ros2-launch'), PYTHONDONTWRITEBYTECODE: '1' },
    });
    expect(r.stderr).toBe('');
    // additional_env, not env: env would replace the launch's whole environment (PATH, ROS_DOMAIN_ID...).
    expect(JSON.parse(r.stdout)).toEqual([{ env: null, additional_env: { MALLOC_ARENA_MAX: '2' } }]);
  });
});
