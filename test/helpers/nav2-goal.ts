/** The sim's Nav2 stand-in: its action, and a NavigateToPose goal at a map point. */
export const NAV = { name: '/navigate_to_pose', type: 'nav2_msgs/action/NavigateToPose' };

export const goalAt = (x: number, y: number) => ({
  pose: { header: { frame_id: 'map' }, pose: { position: { x, y }, orientation: { w: 1 } } },
});
