import Type from 'typebox';
import { RosName } from '../../names/index.ts';

/** A bus query a bridge serves as a ROS 2 service (ros.services.serve, zenoh.services.serve). */
export const ServedService = Type.Object(
  {
    query: Type.String({ minLength: 1, description: 'The bus query answered, e.g. agent/stop.' }),
    service: RosName({ description: 'The ROS 2 service name, e.g. /auraison/stop.' }),
    type: Type.String({
      pattern: '^[A-Za-z0-9_]+/srv/[A-Za-z0-9_]+$',
      description: 'Its service type, e.g. std_srvs/srv/Trigger.',
    }),
  },
  { additionalProperties: false },
);

/** A bus action a bridge serves as a ROS 2 action (ros.actions.serve, zenoh.actions.serve). */
export const ServedAction = Type.Object(
  {
    action: RosName({ description: 'The bus action, e.g. /navigate_to_pose.' }),
    type: Type.String({
      pattern: '^[A-Za-z0-9_]+/action/[A-Za-z0-9_]+$',
      description: 'Its type, e.g. nav2_msgs/action/NavigateToPose.',
    }),
  },
  { additionalProperties: false },
);
