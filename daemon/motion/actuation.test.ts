import { describe, expect, it } from 'vitest';
import { actuation, goalActuation, latchedGoalRefusal, mayActuate } from './actuation.ts';

describe('actuation', () => {
  it('holds a Twist kin that moves, wherever its vectors sit, and passes it all zero (a stop)', () => {
    const moving = { linear: { x: 0 }, angular: { z: 0.5 } };
    expect(actuation('geometry_msgs/Twist', moving, '/x')).toBe('a geometry_msgs/msg/Twist that moves');
    expect(actuation('geometry_msgs/msg/TwistWithCovarianceStamped', { twist: { twist: moving } }, '/x')).toBe(
      'a geometry_msgs/msg/TwistWithCovarianceStamped that moves',
    );
    expect(actuation('geometry_msgs/msg/AccelStamped', { accel: moving }, '/x')).toMatch(/that moves$/);
    expect(actuation('geometry_msgs/msg/WrenchStamped', { wrench: { torque: { x: Number.NaN } } }, '/x')).toMatch(
      /that moves$/,
    );
    expect(actuation('geometry_msgs/msg/TwistWithCovariance', { twist: {}, covariance: [1, 2] }, '/x')).toBeUndefined();
    expect(actuation('geometry_msgs/msg/Accel', { linear: { x: -0 } }, '/x')).toBeUndefined();
  });

  it('holds joint commands with anything in them; an empty trajectory is a hold, /joint_states a measurement', () => {
    const point = { positions: new Float64Array([1]) };
    expect(actuation('trajectory_msgs/msg/JointTrajectory', { points: [point] }, '/arm/cmd')).toBe(
      'a trajectory_msgs/msg/JointTrajectory with points',
    );
    expect(actuation('trajectory_msgs/msg/JointTrajectory', { joint_names: ['a'], points: [] }, '/a')).toBeUndefined();
    expect(actuation('std_msgs/msg/Float32MultiArray', { data: new Float32Array([0]) }, '/c')).toMatch(/of all zeros/);
    expect(actuation('trajectory_msgs/msg/JointTrajectoryPoint', {}, '/p')).toBeDefined();
    const state = { name: ['a'], position: new Float64Array([1]) };
    expect(actuation('sensor_msgs/msg/JointState', state, '/joint_commands')).toMatch(/commanded/);
    expect(actuation('sensor_msgs/msg/JointState', state, '/joint_states')).toBeUndefined();
    expect(actuation('sensor_msgs/msg/JointState', state, '/arm/joint_states')).toBeUndefined();
    expect(actuation('std_msgs/msg/String', { data: 'go' }, '/joint_commands')).toBeUndefined();
    expect(mayActuate('sensor_msgs/msg/JointState', '/joint_states')).toBe(false);
    expect(mayActuate('std_msgs/Float64MultiArray', '/c')).toBe(true);
  });

  it("says why a forward controller's zeros are held: a pose to a position controller", () => {
    expect(actuation('std_msgs/msg/Float64MultiArray', { data: new Float64Array([0, 0, 0]) }, '/arm/commands')).toMatch(
      /^a std_msgs\/msg\/Float64MultiArray of all zeros, which a position controller takes as a pose to go to$/,
    );
    expect(actuation('std_msgs/msg/Float64MultiArray', { data: [0, 0.1] }, '/c')).toBe(
      'a std_msgs/msg/Float64MultiArray with data',
    );
    expect(actuation('std_msgs/msg/Float64MultiArray', { data: [] }, '/c')).toBeUndefined();
  });
});

describe('goalActuation', () => {
  const point = { positions: [0.5], time_from_start: { sec: 1, nanosec: 0 } };

  it('moves with a trajectory that has points, a gripper command always, a Nav2 drive always', () => {
    const fjt = 'control_msgs/action/FollowJointTrajectory';
    expect(goalActuation(fjt, { trajectory: { joint_names: ['j1'], points: [point] } })).toBe(
      'a control_msgs/action/FollowJointTrajectory goal with points',
    );
    expect(goalActuation('control_msgs/FollowJointTrajectory', { multi_dof_trajectory: { points: [{}] } })).toMatch(
      /with points$/,
    );
    expect(goalActuation(fjt, { trajectory: { joint_names: ['j1'], points: [] } })).toBeUndefined();
    expect(goalActuation(fjt, {})).toBeUndefined();
    expect(goalActuation('control_msgs/action/GripperCommand', { command: { position: 0, max_effort: 0 } })).toBe(
      'a control_msgs/action/GripperCommand goal: it moves the gripper',
    );
    expect(goalActuation('nav2_msgs/action/NavigateToPose', {})).toMatch(/drives the base$/);
    expect(goalActuation('nav2_msgs/action/ComputePathToPose', { goal: {} })).toBeUndefined();
    expect(goalActuation('moveit_msgs/action/MoveGroup', { planning_options: { plan_only: true } })).toBeUndefined();
    expect(goalActuation('moveit_msgs/action/MoveGroup', { planning_options: { plan_only: false } })).toMatch(
      /not a plan only$/,
    );
    expect(goalActuation('test_msgs/action/Fibonacci', { order: 5 })).toBeUndefined();
  });

  it('words a latched refusal of any goal, naming the motion when the rule knows it', () => {
    const latched = 'the robot is stopped: latched by ada';
    expect(latchedGoalRefusal(undefined, 'control_msgs/action/GripperCommand', {})).toBeUndefined();
    expect(latchedGoalRefusal(latched, 'test_msgs/action/Fibonacci', { order: 1 })).toBe(latched);
    expect(latchedGoalRefusal(latched, undefined, {})).toBe(latched);
    expect(
      latchedGoalRefusal(latched, 'control_msgs/action/JointTrajectory', { trajectory: { points: [point] } }),
    ).toBe(`${latched} (a control_msgs/action/JointTrajectory goal with points)`);
  });
});
