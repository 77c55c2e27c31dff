/**
 * Config that puts the velocity limits out of the way, for a test of a bridge's bytes (a Twist of 2^60 crosses
 * exact): every door to the robot holds a Twist to motion.velocity, which daemon/motion/guard.test.ts tests.
 */
export const UNLIMITED_VELOCITY = {
  motion: {
    velocity: Object.fromEntries(
      ['max_linear_x', 'max_linear_y', 'max_linear_z', 'max_angular_x', 'max_angular_y', 'max_angular_z'].map((k) => [
        k,
        Number.MAX_VALUE,
      ]),
    ),
  },
};
