import Type from 'typebox';

/** A bus query a bridge serves as a ROS 2 service (ros.services.serve, zenoh.services.serve). */
export const ServedService = Type.Object(
  {
    query: Type.String({ minLength: 1, description: 'The bus query answered, e.g. agent/stop.' }),
    service: Type.String({
      pattern: '^/',
      description: 'The ROS 2 service name, fully qualified, e.g. /auraison/stop.',
    }),
    type: Type.String({
      pattern: '^[A-Za-z0-9_]+/srv/[A-Za-z0-9_]+$',
      description: 'Its service type, e.g. std_srvs/srv/Trigger.',
    }),
  },
  { additionalProperties: false },
);
