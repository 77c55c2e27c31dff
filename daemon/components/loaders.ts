// The parts outside the core that CLI commands use, each loaded on first use: a command that does not need
// one (and `--help`) never loads it, and the core reaches adapters, sim and central-link only through here.
export const loadLeRobot = () => import('../../adapters/lerobot/index.ts');
export const loadVllm = () => import('../../adapters/vllm/index.ts');
export const loadCentralLink = () => import('../../central-link/index.ts');
/** The reference central's own commands (`central serve|query|robots|intent|config|keygen|acl`): their face alone;
 * each loads DuckDB, MQTT or the AWS SDK only when it runs. */
export const loadCentralCli = () => import('../../central/cli/index.ts');
export const loadTurtlebotMaze = () => import('../../sim/turtlebot-maze/index.ts');
/** The ONNX model file reader alone (`policy inspect`): no onnxruntime, no DuckDB. */
export const loadOnnxModelFile = () => import('../../adapters/lerobot/onnx-model-file.ts');
