// The parts outside the core that CLI commands use, each loaded on first use: a command that does not need
// one (and `--help`) never loads it, and the core reaches adapters, sim and central-link only through here.
export const loadLeRobot = () => import('../../adapters/lerobot/index.ts');
export const loadVllm = () => import('../../adapters/vllm/index.ts');
export const loadCentralLink = () => import('../../central-link/index.ts');
/** central.yaml's reader alone (the `central` operator commands): no MQTT, no DuckDB. */
export const loadCentralYaml = () => import('../../central/config.ts');
/** `central serve`: DuckDB, DuckLake, the AWS SDK. */
export const loadCentralServe = () => import('../../central/serve.ts');
/** Central's command signing key (`central intent`, `central config push`, `central keygen`): node:crypto alone. */
export const loadCommandSigner = () => import('../../central/command-signer.ts');
/** The broker ACL's text (`central acl`): no MQTT, no DuckDB. */
export const loadBrokerAcl = () => import('../../central/broker-acl.ts');
export const loadTurtlebotMaze = () => import('../../sim/turtlebot-maze/index.ts');
/** The ONNX model file reader alone (`policy inspect`): no onnxruntime, no DuckDB. */
export const loadOnnxModelFile = () => import('../../adapters/lerobot/onnx-model-file.ts');
