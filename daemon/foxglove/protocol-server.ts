import wsProtocol from '@foxglove/ws-protocol';

/** The protocol server of @foxglove/ws-protocol: it speaks the protocol; the bridge feeds it sockets and data. */
export type FoxgloveServer = InstanceType<typeof wsProtocol.FoxgloveServer>;
export const { StatusLevel } = wsProtocol;

/** The protocol server as this daemon offers it: CDR and JSON, client publishing only when configured. */
export function createProtocolServer(robot: { id: string; fleet: string }, clientPublish: boolean): FoxgloveServer {
  return new wsProtocol.FoxgloveServer({
    name: `auraison-edge ${robot.id}`,
    capabilities: clientPublish ? ['clientPublish'] : [],
    supportedEncodings: ['cdr', 'json'],
    metadata: { robot: robot.id, fleet: robot.fleet },
  });
}
