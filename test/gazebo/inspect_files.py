"""Reads what the Gazebo tests check, with Python's own parsers (xml.etree, ast), and prints it as JSON.

    python3 inspect_files.py sdf WORLD.sdf         walls, dock plate, frames, the robot's pose, plugins, sensors
    python3 inspect_files.py launch-xml FILE.xml   every element: tag, attributes, parent
    python3 inspect_files.py launch-py FILE.py     arguments declared and used, nodes, packages, files named

A file that does not parse exits 1 with the parser's message on stderr.
"""
import ast
import json
import sys
import xml.etree.ElementTree as ET


def floats(text):
    return [float(v) for v in text.split()]


def box(element):
    x, y, z, *_ = floats(element.findtext('pose'))
    sx, sy, sz = floats(element.findtext('geometry/box/size'))
    return {'x0': x - sx / 2, 'y0': y - sy / 2, 'x1': x + sx / 2, 'y1': y + sy / 2, 'z0': z - sz / 2, 'z1': z + sz / 2}


def sdf(path):
    world = ET.parse(path).getroot().find('world')
    out = {'world': world.get('name'), 'frames': {}, 'walls': [], 'plugins': [], 'models': {}, 'dock': None}
    for frame in world.findall('frame'):
        out['frames'][frame.get('name')] = floats(frame.findtext('pose'))
    out['plugins'] = [p.get('name') for p in world.findall('plugin')]
    for model in world.findall('model'):
        info = {'pose': floats(model.findtext('pose') or '0 0 0 0 0 0'),
                'plugins': {p.get('name'): {c.tag: c.text for c in p} for p in model.findall('plugin')},
                'joints': {j.get('name'): j.get('type') for j in model.findall('joint')},
                'sensors': []}
        for sensor in model.iter('sensor'):
            found = {
                'type': sensor.get('type'), 'topic': sensor.findtext('topic'),
                'frame': sensor.findtext('gz_frame_id') or sensor.findtext('ignition_frame_id'), 'rate': float(sensor.findtext('update_rate')),
                'pose': floats(sensor.findtext('pose') or '0 0 0 0 0 0'),
            }
            lidar = sensor.find('lidar')
            if lidar is not None:
                found.update({
                    'samples': int(lidar.findtext('scan/horizontal/samples')),
                    'min_angle': float(lidar.findtext('scan/horizontal/min_angle')),
                    'max_angle': float(lidar.findtext('scan/horizontal/max_angle')),
                    'range': [float(lidar.findtext('range/min')), float(lidar.findtext('range/max'))],
                })
            camera = sensor.find('camera')
            if camera is not None:
                found.update({
                    'horizontal_fov': float(camera.findtext('horizontal_fov')),
                    'image': [int(camera.findtext('image/width')), int(camera.findtext('image/height')), camera.findtext('image/format')],
                })
            info['sensors'].append(found)
        out['models'][model.get('name')] = info
        if model.get('name') == 'dock_plate':
            visual = model.find('link/visual')
            out['dock'] = {'box': box(visual), 'ambient': floats(visual.findtext('material/ambient')),
                           'collisions': len(list(model.iter('collision')))}
        if model.get('name') != 'maze':
            continue
        for collision in model.iter('collision'):
            out['walls'].append(box(collision))
    return out


def launch_xml(path):
    root = ET.parse(path).getroot()
    elements = []

    def walk(element, parent):
        elements.append({'tag': element.tag, 'attrs': dict(element.attrib), 'parent': parent})
        for child in element:
            walk(child, element.tag)

    walk(root, None)
    return {'elements': elements}


def call_name(call):
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None


def literal(node):
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


def launch_py(path):
    tree = ast.parse(open(path).read(), path)
    out = {'declared': [], 'used': [], 'nodes': [], 'share_dirs': [], 'joined_paths': [], 'constants': {},
           'include_args': [], 'imports': []}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            out['imports'] += [f'{node.module}.{a.name}' for a in node.names]
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = literal(node.value)
            if value is not None:
                out['constants'][node.targets[0].id] = value
        if not isinstance(node, ast.Call):
            continue
        name = call_name(node)
        first = literal(node.args[0]) if node.args else None
        if name == 'DeclareLaunchArgument':
            out['declared'].append(first)
        elif name in ('LaunchConfiguration', 'LaunchConfigurationEquals'):
            out['used'].append(first)
        elif name == 'get_package_share_directory':
            out['share_dirs'].append(first)
        elif name == 'join' and isinstance(node.func, ast.Attribute):
            out['joined_paths'].append([literal(a) if literal(a) is not None else '*' for a in node.args])
        elif name == 'Node':
            kw = {k.arg: k.value for k in node.keywords}
            params = [literal(key) for d in ast.walk(kw['parameters']) if isinstance(d, ast.Dict)
                      for key in d.keys if key is not None] if 'parameters' in kw else []
            out['nodes'].append({'package': literal(kw['package']), 'executable': literal(kw['executable']),
                                 'parameters': params,
                                 'arguments': literal(kw['arguments']) if 'arguments' in kw else []})
        elif name == 'IncludeLaunchDescription':
            for k in node.keywords:
                if k.arg == 'launch_arguments':
                    target = k.value.func.value if isinstance(k.value, ast.Call) else k.value
                    if isinstance(target, ast.Dict):
                        out['include_args'] += [literal(key) for key in target.keys]
    return out


def main():
    mode, path = sys.argv[1], sys.argv[2]
    try:
        result = {'sdf': sdf, 'launch-xml': launch_xml, 'launch-py': launch_py}[mode](path)
    except (ET.ParseError, SyntaxError) as error:
        print(f'{path}: {error}', file=sys.stderr)
        sys.exit(1)
    json.dump(result, sys.stdout)


if __name__ == '__main__':
    main()
