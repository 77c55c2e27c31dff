import { BURGER } from '../sim/turtlebot-maze/core.ts';
import { tempDir } from '../test/helpers/cli.ts';
import { driveToDock, startDriveSession, stopWhileDriving } from '../test/gazebo-live/drive-session.ts';
import { gazeboHere } from '../test/gazebo-live/gazebo-env.ts';
import type { BenchResult } from './bench.ts';
import { sleep } from '../daemon/util/index.ts';

// The daemon driving the maze in a hand-built Gazebo (docs/simulator.md#gazebo-built-by-hand), beside the built-in
// sim on the same maze and goal, in the same run: Gazebo's real-time factor idle and while the daemon drives, the
// time and distance from the start to the charging dock (Gazebo's sim time against the built-in sim's), and the
// operator's stop in sim time against braking at the drive's limit from the speed measured. Where there is no
// Gazebo (AURAISON_EDGE_GAZEBO_SETUP unset, CI) one row says so and the other benches run.

const DOMAIN = 19;
/** How long the idle real-time factor is measured over. */
const IDLE_S = 15;

export async function run(): Promise<BenchResult[]> {
  const here = gazeboHere();
  if (here?.parameterBridge === undefined)
    return [
      {
        name: 'gazebo: skipped',
        ours: NaN,
        unit: 's',
        better: 'lower',
        notes: [
          'no Gazebo with ros_gz here (AURAISON_EDGE_GAZEBO_SETUP names its setup.bash; docs/simulator.md#gazebo-built-by-hand)',
        ],
      },
    ];
  const work = tempDir('bench-gazebo-');
  const session = await startDriveSession(DOMAIN);
  try {
    // Idle: sim time over wall time for IDLE_S, the daemon up and nothing driving (as the drive's own is taken).
    const [simFrom, wallFrom] = [session.simNow(), performance.now()];
    await sleep(IDLE_S * 1000);
    const idle = (session.simNow() - simFrom) / ((performance.now() - wallFrom) / 1000);
    const drive = await driveToDock(session, work.path);
    if (drive.run.code !== 0) throw new Error(`navigate_to the dock failed: ${drive.run.stdout}${drive.run.stderr}`);
    const stop = await stopWhileDriving(session);
    await stop.back;
    const version = `Gazebo ${here.release} ${here.version}, ${here.renderEngine} rendering`;
    return [
      {
        name: 'gazebo: real-time factor while the daemon drives',
        ours: drive.realTimeFactor,
        baseline: { name: `the same, nothing driving, over ${IDLE_S} s`, value: idle },
        unit: 'x real time',
        better: 'higher',
        notes: [`${version}; the drive took ${drive.wallS.toFixed(0)} s of wall time`],
      },
      {
        name: 'gazebo: start to charging_dock, time',
        ours: drive.gazebo.timeS,
        baseline: { name: 'the built-in sim, same maze and goal', value: drive.sim.time_s },
        unit: 's sim',
        better: 'lower',
        notes: [
          `distance: Gazebo ${drive.gazebo.distanceM.toFixed(2)} m, built-in ${drive.sim.distance_m} m; ` +
            `collisions: Gazebo ${drive.gazebo.collisions}, built-in ${drive.sim.collisions}; ` +
            `closest to a wall in Gazebo ${drive.gazebo.closestWallM.toFixed(3)} m (centre)`,
        ],
      },
      {
        name: "gazebo: the operator's stop, zero Twist on the bus to at rest",
        ours: stop.restAfterZeroS,
        baseline: {
          name: `braking from ${stop.fromSpeed.toFixed(3)} m/s at ${BURGER.maxLinearAccel} m/s² (computed)`,
          value: stop.brakingS,
        },
        unit: 's sim',
        better: 'lower',
        notes: [
          `${stop.restAfterCommandS.toFixed(3)} s of sim time from \`auraison-edge stop\` started to at rest; ` +
            `coasted ${stop.coastM.toFixed(3)} m`,
        ],
      },
    ];
  } finally {
    await session.stop();
    work.cleanup();
  }
}
