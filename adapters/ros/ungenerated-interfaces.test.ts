import { afterEach, describe, expect, it } from 'vitest';
import { fileTree } from '../../test/helpers/file-tree.ts';
import { ungeneratedPackages } from './ungenerated-interfaces.ts';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((cleanup) => cleanup()));
const tree = (files: Record<string, string>) => fileTree(files, cleanups);

const INDEX = 'share/ament_index/resource_index/rosidl_interfaces';

describe('ungeneratedPackages', () => {
  it("lists the installed interface packages rclnodejs has no JavaScript for, less its generator's blocklist", () => {
    const ros = tree({
      [`${INDEX}/std_msgs`]: 'msg/String.msg\n',
      [`${INDEX}/nav2_msgs`]: 'action/NavigateToPose.action\n',
      [`${INDEX}/rosbag2_test_msgdefs`]: 'msg/ComplexMsg.msg\n',
    });
    const overlay = tree({ [`${INDEX}/nav2_msgs`]: 'action/NavigateToPose.action\n' });
    const rclnodejs = tree({
      'generated/std_msgs/std_msgs__msg__String.js': '',
      'rosidl_gen/blocklist.json': JSON.stringify([
        { pkgName: 'rosbag2_test_msgdefs' },
        { pkgName: 'std_msgs', interfaceName: 'Empty' },
      ]),
    });
    // The overlay comes first on AMENT_PREFIX_PATH: its nav2_msgs is the one in use.
    expect(ungeneratedPackages({ AMENT_PREFIX_PATH: `${overlay}:${ros}` }, rclnodejs)).toEqual([
      { name: 'nav2_msgs', prefix: overlay },
    ]);
  });
});
