import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fileTree } from '../../test/helpers/file-tree.ts';
import { localInterfacePackages } from './local-interfaces.ts';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((cleanup) => cleanup()));
const tree = (files: Record<string, string>) => fileTree(files, cleanups);

describe('localInterfacePackages', () => {
  it('finds the packages of a definitions dir that no ROS 2 prefix has built, with the packages their fields name', () => {
    const defs = tree({
      'robot_msgs/msg/Beacon.msg': '# a Point\nHeader header\ngeometry_msgs/Point[] at  # where\nrobot_msgs/Id id\n',
      'robot_msgs/msg/Id.msg': 'string value\nint32 MAX=3\n',
      'robot_msgs/srv/Find.srv': 'string name\n---\nsensor_msgs/NavSatFix fix\n',
      'std_msgs/msg/String.msg': 'string data\n',
    });
    const prefix = tree({ 'lib/libstd_msgs__rosidl_typesupport_c.so': '' });
    const found = localInterfacePackages([defs], { AMENT_PREFIX_PATH: prefix, ROS_DISTRO: 'jazzy' });
    expect(found.map(({ name, dir, dependencies }) => ({ name, dir, dependencies }))).toEqual([
      { name: 'robot_msgs', dir: join(defs, 'robot_msgs'), dependencies: ['geometry_msgs', 'sensor_msgs', 'std_msgs'] },
    ]);
    expect(found[0]!.files.map((f) => f.path)).toEqual(['msg/Beacon.msg', 'msg/Id.msg', 'srv/Find.srv']);
  });

  it("leaves a ROS 2 prefix's own folders to it, even a package there without libraries", () => {
    const prefix = tree({ 'share/test_interface_files/msg/Empty.msg': '' });
    expect(localInterfacePackages([join(prefix, 'share')], { AMENT_PREFIX_PATH: prefix })).toEqual([]);
  });

  it('takes a dir that is itself a package, and gives a changed file a new digest', () => {
    const pkg = tree({ 'msg/Ping.msg': 'uint8 n\n' });
    const [before] = localInterfacePackages([pkg], { AMENT_PREFIX_PATH: '' });
    expect(before?.name).toBe(pkg.split('/').at(-1));
    writeFileSync(join(pkg, 'msg', 'Ping.msg'), 'uint16 n\n');
    const [after] = localInterfacePackages([pkg], { AMENT_PREFIX_PATH: '' });
    expect(after?.digest).not.toBe(before?.digest);
  });
});
