// Not vendored: ours. rclnodejs generates types/interfaces.d.ts at install time from the ROS 2 interface
// packages it finds in the sourced install; without ROS 2 there is none. This stands in for it with an open
// set of type names (any 'pkg/msg/Name' string), which is what the adapter deals in: types it discovers at
// run time. It declares only the generated messages that the vendored files name.
declare module 'rclnodejs' {
  namespace builtin_interfaces.msg {
    interface Time { sec: number; nanosec: number }
    interface Duration { sec: number; nanosec: number }
  }
  namespace unique_identifier_msgs.msg {
    interface UUID { uuid: number[] | Uint8Array }
  }
  namespace action_msgs.srv {
    interface CancelGoal_Response { return_code: number; goals_canceling: object[] }
  }
  namespace rcl_interfaces.msg {
    interface ParameterValue { type: number; [field: string]: unknown }
    interface Parameter { name: string; value: ParameterValue }
    interface ParameterDescriptor { name: string; type: number; description: string; read_only: boolean }
    interface SetParametersResult { successful: boolean; reason: string }
  }

  type MessagesMap = { [type: string]: object };
  type MessageTypeClassName = keyof MessagesMap & string;
  type Message = MessagesMap[MessageTypeClassName];
  type MessageType<T> = T extends MessageTypeClassName ? MessagesMap[T] : T extends new (...args: any[]) => infer R ? R : object;
  type MessageTypeClassConstructorMap = { [type: string]: new (other?: object) => object };
  type MessageConstructorType<T> = T extends MessageTypeClassName ? MessageTypeClassConstructorMap[T] : object;

  type ServicesMap = {
    [type: string]: { Request: new (other?: object) => object; Response: new (other?: object) => object };
  };
  type ServiceTypeClassName = keyof ServicesMap & string;
  type Service = ServicesMap[ServiceTypeClassName];
  type ServiceType<T> = T extends ServiceTypeClassName ? ServicesMap[T] : T extends { Request: any; Response: any } ? T : object;

  type ActionsMap = {
    [type: string]: { Goal: new (other?: object) => object; Feedback: new (other?: object) => object; Result: new (other?: object) => object };
  };
  type ActionTypeClassName = keyof ActionsMap & string;
  type Action = ActionsMap[ActionTypeClassName];
  type ActionType<T> = T extends ActionTypeClassName ? ActionsMap[T] : T extends { Goal: any; Feedback: any; Result: any } ? T : object;

  type TypeClassName = MessageTypeClassName | ServiceTypeClassName | ActionTypeClassName;
  type InterfaceType<T> = T extends TypeClassName ? (MessageTypeClassConstructorMap & ServicesMap & ActionsMap)[T] : object;
}
