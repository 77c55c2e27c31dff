// The readout under the map, in words and numbers: the robot's pose and speed (from /odom's pose and twist, through
// GET /live/map), the active goal and how far it is, and what the scan shows. The map draws the same.

import { $ } from '/page/dom.js';

const metres = (v) => `${v.toFixed(2)} m`;

/** Degrees in (-180, 180], as an operator reads a heading. */
function degrees(rad) {
  const d = ((((rad * 180) / Math.PI) % 360) + 360) % 360;
  return d > 180 ? d - 360 : d;
}

export class MotionView {
  #pose;
  #goal;

  showPose(pose) {
    this.#pose = pose;
    $('pose-readout').textContent = `x ${metres(pose.x)}, y ${metres(pose.y)}, yaw ${degrees(pose.yaw).toFixed(1)}°`;
    $('speed-readout').textContent =
      Number.isFinite(pose.linear) && Number.isFinite(pose.angular)
        ? `${pose.linear.toFixed(2)} m/s, ${pose.angular.toFixed(2)} rad/s`
        : '–';
    this.#showGoal();
  }

  /** The goal the active plan ends at; undefined when no goal is active. */
  showGoal(goal) {
    this.#goal = goal;
    this.#showGoal();
  }

  showScan(scan) {
    const n = scan.points?.length ?? 0;
    $('scan-readout').textContent = n === 0 ? 'no hit in range' : `${n} hits in range`;
  }

  #showGoal() {
    const goal = this.#goal;
    if (!goal) {
      $('goal-readout').textContent = 'none';
      return;
    }
    const away = this.#pose ? `, ${metres(Math.hypot(goal.x - this.#pose.x, goal.y - this.#pose.y))} away` : '';
    $('goal-readout').textContent = `x ${metres(goal.x)}, y ${metres(goal.y)}${away}`;
  }
}
