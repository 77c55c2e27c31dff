import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runPeer } from '../peers/index.ts';
import { so101Peer } from '../peers/arm.ts';

/**
 * The simulated arm's camera (so101_sim.Camera) shows what a camera policy needs: the block, and the goal the package
 * does not draw, marked on the table; with no goal, no mark. Counted in the frames it renders for a seed's scene.
 */

// Green pixels (the mark) and the block's purple ones in a frame rendered for seed 1000's scene, with and without
// its goal; JSON on stdout.
const RENDER = `
import json, numpy as np
from so101_sim import Camera
from so101_evaluation import Evaluation
scene = Evaluation([1000], lambda *a: None, lambda *a: None)
camera = Camera(96, 72)
def count(frame):
    r, g, b = (frame[..., i].astype(int) for i in range(3))
    return {"green": int(((g > 120) & (g > r + 60) & (g > b + 60)).sum()),
            "purple": int(((r > 120) & (b > 120) & (g < r - 40)).sum())}
goal = scene.environment_state()[3:]
print(json.dumps({"with_goal": count(camera.frame(scene.data.qpos.copy(), goal)),
                  "without": count(camera.frame(scene.data.qpos.copy()))}))
camera.close()
`;

describe("the simulated SO-101's camera", () => {
  it('sees the block and the goal, marked on the table only where there is one', async () => {
    const peer = so101Peer();
    const stdout = await runPeer(peer.python, ['-c', RENDER], {
      cwd: dirname(peer.script),
      // the arm's overlay on ROS 2's venv: its packages' paths (no ROS 2 graph is joined)
      env: peer.env(0),
    });
    const seen = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, { green: number; purple: number }>;
    expect(seen.with_goal!.green).toBeGreaterThan(4);
    expect(seen.with_goal!.purple).toBeGreaterThan(4);
    expect(seen.without!.green).toBe(0);
    expect(seen.without!.purple).toBe(seen.with_goal!.purple);
  }, 120_000);
});
