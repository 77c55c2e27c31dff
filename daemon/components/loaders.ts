// The parts outside the core that CLI commands use, each loaded on first use: a command that does not need
// one (and `--help`) never loads it, and the core reaches adapters, sim and central-link only through here.
import { createRequire } from 'node:module';

export const loadLeRobot = () => import('../../adapters/lerobot/index.ts');
export const loadVllm = () => import('../../adapters/vllm/index.ts');
export const loadCentralLink = () => import('../../central-link/index.ts');
/**
 * The reference central's own commands (`central serve|query|robots|intent|config|keygen|acl`): their face alone;
 * each loads DuckDB, MQTT or the AWS SDK only when it runs. Central is a package of its own (central/), which a
 * robot's install leaves out: asked for there, this says how to install it.
 */
export async function loadCentralCli() {
  try {
    // its package, as npm installed it (the build bundles central's code, so the import below never fails alone)
    createRequire(import.meta.url).resolve('@auraison-edge/central/cli');
  } catch {
    throw new Error(
      "the reference central is not installed here (a robot's install, `npm ci --omit=dev --workspaces=false`, " +
        'leaves it out): install its package with `npm ci -w central` (docs/central.md, "Install")',
    );
  }
  return import('@auraison-edge/central/cli');
}
export const loadTurtlebotMaze = () => import('../../sim/turtlebot-maze/index.ts');
/** The maze's scan policy (`sim --wander`): its driver, and the trainer's model layout. */
export const loadScanPolicy = () => import('../../sim/scan-policy/index.ts');
/** The ONNX model file reader alone (`policy inspect`): no onnxruntime, no DuckDB. */
export const loadOnnxModelFile = () => import('../system1/onnx-model-file.ts');
