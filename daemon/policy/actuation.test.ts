import { describe, expect, it } from 'vitest';
import { actuation, mayActuate } from './actuation.ts';

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
    expect(actuation('std_msgs/msg/Float32MultiArray', { data: new Float32Array([0]) }, '/c')).toMatch(/with data$/);
    expect(actuation('trajectory_msgs/msg/JointTrajectoryPoint', {}, '/p')).toBeDefined();
    const state = { name: ['a'], position: new Float64Array([1]) };
    expect(actuation('sensor_msgs/msg/JointState', state, '/joint_commands')).toMatch(/commanded/);
    expect(actuation('sensor_msgs/msg/JointState', state, '/joint_states')).toBeUndefined();
    expect(actuation('sensor_msgs/msg/JointState', state, '/arm/joint_states')).toBeUndefined();
    expect(actuation('std_msgs/msg/String', { data: 'go' }, '/joint_commands')).toBeUndefined();
    expect(mayActuate('sensor_msgs/msg/JointState', '/joint_states')).toBe(false);
    expect(mayActuate('std_msgs/Float64MultiArray', '/c')).toBe(true);
  });
});
