// The API's error catalogue: every `error` code its replies carry, with the status it comes with. Plain data, no
// imports: the stop listener's thread answers from it too and loads no more than a stop needs.

/** One error code: its HTTP status, what it means and what the caller should do. */
export interface ApiErrorEntry {
  readonly status: number;
  /** A second status the code also comes with, and when: `timeout` is 408 for a request that never arrived whole. */
  readonly alsoStatus?: { readonly status: number; readonly when: string };
  readonly meaning: string;
  readonly action: string;
}

/**
 * Every code of the API's `{error, message, issues?}` replies, the stop listener's included. docs/api-reference.md's
 * "Error codes" is written from it. A code is answered with the status listed here and no other (HttpError reads it).
 */
export const API_ERRORS = {
  bad_request: {
    status: 400,
    meaning:
      'The URL, query, headers or body is not what the route takes; `issues` names each failing path (`body.sql`).',
    action: 'Fix what it names.',
  },
  bad_name: {
    status: 400,
    meaning: 'The action name is not a ROS 2 name.',
    action: 'Send a name such as `/navigate_to_pose`.',
  },
  bad_goal: {
    status: 400,
    meaning: "The goal does not encode as the action's goal type.",
    action: 'Check it against the type it names.',
  },
  query_failed: {
    status: 400,
    meaning: 'The lakehouse refused the SQL (a write, a syntax error, an unknown table).',
    action: 'Fix `body.sql` as the message says.',
  },
  ambiguous: {
    status: 400,
    meaning: 'A run id prefix matches several runs.',
    action: 'Send more of the id (`GET /runs` lists them).',
  },
  bad_payload: {
    status: 400,
    meaning: 'The VLA policy could not decode the request.',
    action: 'Send `{"input": {...}}` as JSON, or tensors as the policy takes them.',
  },
  bad_dtype: {
    status: 400,
    meaning: "An input's element type is not the model's.",
    action: 'Send the type it names.',
  },
  bad_shape: {
    status: 400,
    meaning: "An input's shape is not the model's.",
    action: 'Send the shape it names.',
  },
  not_finite: {
    status: 400,
    meaning: 'An input holds NaN or an infinity.',
    action: 'Send finite numbers.',
  },
  bad_image: {
    status: 400,
    meaning: 'An image input is not a sensor_msgs Image or CompressedImage the policy reads.',
    action: 'Send one with `data` in base64 (docs/system1.md).',
  },
  missing_input: {
    status: 400,
    meaning: 'The request leaves out an input the model needs.',
    action: 'Send every input it names.',
  },
  unknown_input: {
    status: 400,
    meaning: 'The request names an input the model does not have.',
    action: "Use the model's input names.",
  },
  bad_encoding: {
    status: 400,
    meaning: "An image's encoding does not fit the input (depth for color, an undecoded format).",
    action: 'Send an encoding it names.',
  },
  bad_size: {
    status: 400,
    meaning: 'An image has no pixels, or its data does not match its size.',
    action: 'Send the whole frame.',
  },
  too_large: {
    status: 400,
    meaning: 'An image has more pixels than the policy takes.',
    action: 'Send a smaller frame.',
  },
  decode_failed: {
    status: 400,
    meaning: 'A compressed image does not decode.',
    action: 'Send a valid JPEG or PNG, or a raw Image.',
  },
  over_budget: {
    status: 400,
    meaning: 'Decoding the image took longer than its budget.',
    action: 'Send a smaller frame or a raw Image.',
  },
  stale_stamp: {
    status: 400,
    meaning: "An image's stamp is too old for the policy.",
    action: 'Send a fresh frame.',
  },
  bad_stamp: {
    status: 400,
    meaning: "An image's stamp is not a time, or is ahead of the daemon's clock.",
    action: "Stamp frames on the daemon's clock.",
  },
  unauthorized: {
    status: 401,
    meaning: '`api.token` is set and the request carries no token, or a wrong one.',
    action: 'Send `Authorization: Bearer <api.token>`.',
  },
  forbidden: {
    status: 403,
    meaning: 'The Host header is not a loopback name while the API binds loopback, or the caller may not do this.',
    action: 'Call the API at 127.0.0.1 or localhost; for a run, see the message.',
  },
  cross_site: {
    status: 403,
    meaning: 'A state-changing request came from a web page on another origin.',
    action: 'Call from the status page, the CLI, or a client that sends no Origin.',
  },
  geofence: {
    status: 403,
    meaning: "The action's goal lies outside `motion.geofence`; it was not sent.",
    action: 'Send a goal inside the fence.',
  },
  joint_limits: {
    status: 403,
    meaning:
      "An arm's action goal lies outside `motion.joints` (a trajectory past the URDF's limits or `max_step`, too fast for its velocity limits, or a gripper position outside its joint's limits); it was not sent.",
    action: 'Send a goal within the limits (the message names the joint, its value and the limit).',
  },
  not_found: {
    status: 404,
    meaning: 'No such route, run, control loop or page file.',
    action: 'Check the path (`GET /runs` lists runs).',
  },
  no_map: {
    status: 404,
    meaning: 'No map has been published since the daemon started.',
    action: 'Start its publisher (map_server, SLAM, the sim).',
  },
  no_action_server: {
    status: 404,
    meaning: 'No server of the action is on the bus.',
    action: 'Start the action server, or check the name.',
  },
  method_not_allowed: {
    status: 405,
    meaning: 'The route does not take this method; the `Allow` header lists those it takes.',
    action: 'Use a method the `Allow` header lists.',
  },
  conflict: {
    status: 409,
    meaning: "The target's state does not allow it (a run already ended, a stop with a latch held, a loop ended).",
    action: 'Read the state (`GET /status`, `GET /runs/<id>`) first.',
  },
  stopped: {
    status: 409,
    meaning: "The operator's stop is latched: nothing that moves the robot is sent.",
    action: 'Release the stop (`POST /stop/release`) first.',
  },
  not_recording: {
    status: 409,
    meaning: 'The recorder is not recording (disk full, failed); the message says why.',
    action: 'Fix the cause it names; recording restarts with the daemon.',
  },
  payload_too_large: {
    status: 413,
    meaning: 'The body is larger than `api.body_limit_bytes` (a stop: its own limit).',
    action: 'Send a smaller body.',
  },
  uri_too_long: {
    status: 414,
    meaning: 'A path parameter is too long.',
    action: 'Send a shorter path.',
  },
  unsupported_media_type: {
    status: 415,
    meaning: 'The body is not `application/json` in UTF-8, uncompressed.',
    action: 'Send `Content-Type: application/json` (also with no body) and UTF-8.',
  },
  wrong_target: {
    status: 421,
    meaning: 'The intent names another robot.',
    action: 'Send it to the robot it names.',
  },
  headers_too_large: {
    status: 431,
    meaning: "The request line and headers pass node's header limit.",
    action: 'Send a shorter URL or fewer headers.',
  },
  internal: {
    status: 500,
    meaning: 'The daemon failed at something it should not have; the log has it.',
    action: 'Report it with the log line; a retry may work.',
  },
  not_stopped: {
    status: 500,
    meaning: 'The stop was asked but its zero command did not go out: the robot may still move.',
    action: 'Stop the robot another way (its own stop) now, then read the log.',
  },
  snapshot_failed: {
    status: 500,
    meaning: 'Writing the snapshot failed with an I/O error other than a full disk; the buffer is kept.',
    action: 'Fix the data dir as the message says.',
  },
  bad_gateway: {
    status: 502,
    meaning: "The stop listener could not reach the API's /mcp; a stop in the call was taken all the same.",
    action: 'Check that the daemon runs (`GET /healthz`).',
  },
  bad_map: {
    status: 502,
    meaning: 'The message on /map cannot be read as its type.',
    action: "Check the map's publisher.",
  },
  handler_error: {
    status: 502,
    meaning: 'What serves the queried name failed on the request.',
    action: "Read the message and the server's log.",
  },
  inference_failed: {
    status: 502,
    meaning: 'The VLA policy failed to run the request.',
    action: "Read the message and the daemon's log.",
  },
  non_finite_output: {
    status: 502,
    meaning: 'The VLA policy answered NaN or an infinity; no outputs are returned.',
    action: 'Check the model and its inputs.',
  },
  unavailable: {
    status: 503,
    meaning:
      'The service behind the route is not running (off in the config, failed, restarting); the message says why.',
    action: 'Enable or fix it as the message says.',
  },
  busy: {
    status: 503,
    meaning: 'Too many at once: event streams, or queries waiting on a policy.',
    action: 'Try again later (`Retry-After` says when, where given).',
  },
  no_queryable: {
    status: 503,
    meaning: 'Nothing on the bus serves the queried name.',
    action: 'Start the policy or model server, or check the name.',
  },
  timeout: {
    status: 504,
    alsoStatus: { status: 408, when: "the request itself did not arrive whole within the server's time" },
    meaning:
      'It did not finish within its time limit (`timeout_ms`, `api.query.timeout_ms`, `api.inference.timeout_ms`).',
    action: 'Ask for less, or a longer limit.',
  },
  insufficient_storage: {
    status: 507,
    meaning: "The data dir's disk is full: nothing was accepted.",
    action: 'Free space and send it again.',
  },
} as const satisfies Record<string, ApiErrorEntry>;

/** A code the API answers with: a key of the catalogue, so an unlisted code does not type-check. */
export type ApiErrorCode = keyof typeof API_ERRORS;

/** Whether `code` is in the catalogue. */
export function isApiErrorCode(code: unknown): code is ApiErrorCode {
  return typeof code === 'string' && Object.hasOwn(API_ERRORS, code);
}
