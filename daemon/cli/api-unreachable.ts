/**
 * What to do when a client command (`intent`, `approve`) got no answer from the API. The client's own
 * message says where it asked and why it failed (ECONNREFUSED); this says what the user does next: most
 * often no daemon runs with this data dir, since a running one would have written its run/api.json.
 */
export function unreachableAdvice(target: { from: string }, dataDir: string): string {
  if (target.from === '--url') return 'is a daemon listening at that URL? (`auraison-edge status --url URL` checks)';
  if (target.from.endsWith('run/api.json'))
    return `the daemon of ${dataDir} wrote that address but does not answer: see its log, or \`auraison-edge status\``;
  return `no daemon is running with data dir ${dataDir}: start one (\`auraison-edge run\`, which with no config file runs the sim; \`npm start\` in the checkout drives the sim, then runs on until Ctrl-C), or give --config (or --url) for the daemon you mean`;
}
