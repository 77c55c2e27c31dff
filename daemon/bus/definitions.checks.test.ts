import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MessageCodec } from './codec.ts';
import { DefinitionsRegistry, UnknownTypeError } from './definitions.ts';

/** A package directory of .msg and .srv files. */
function pkg(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'auraison-defs-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, 'odd_msgs', path.split('/')[0]!), { recursive: true });
    writeFileSync(join(root, 'odd_msgs', path), text);
  }
  return root;
}

describe('DefinitionsRegistry refuses definitions it cannot encode', () => {
  it('refuses a type that contains itself other than through a sequence, naming the cycle', () => {
    const registry = new DefinitionsRegistry({
      distro: 'none',
      dirs: [pkg({ 'msg/A.msg': 'B b\n', 'msg/B.msg': 'A[2] a\n', 'msg/Node.msg': 'string name\nNode[] children\n' })],
    });
    expect(() => registry.resolve('odd_msgs/msg/A')).toThrow(UnknownTypeError);
    expect(() => registry.resolve('odd_msgs/msg/A')).toThrow(
      'odd_msgs/msg/A contains itself other than through a sequence (odd_msgs/msg/A -> odd_msgs/msg/B -> odd_msgs/msg/A)',
    );
    expect(() => new MessageCodec(registry).encode('odd_msgs/msg/B', {})).toThrow(UnknownTypeError);
    // Through a sequence it can end (an empty one), so it encodes.
    const codec = new MessageCodec(registry);
    const tree = { name: 'a', children: [{ name: 'b', children: [] }] };
    expect(codec.decode('odd_msgs/msg/Node', codec.encode('odd_msgs/msg/Node', tree))).toEqual(tree);
  });

  it('warns about a .srv with more than one `---` and does not load it', () => {
    const registry = new DefinitionsRegistry({
      distro: 'none',
      dirs: [
        pkg({ 'srv/Three.srv': 'int32 a\n---\nint32 b\n---\nint32 c\n', 'srv/Two.srv': 'int32 a\n---\nint32 b\n' }),
      ],
    });
    expect(registry.warnings).toEqual([
      expect.stringMatching(
        /Three\.srv: a \.srv has one `---` line between request and response; this one has 2, so it was not loaded$/,
      ),
    ]);
    expect(registry.types()).toEqual([
      'odd_msgs/srv/Two_Event',
      'odd_msgs/srv/Two_Request',
      'odd_msgs/srv/Two_Response',
    ]);
  });

  it("says a bare Header is the package's own and how to name std_msgs/Header", () => {
    const registry = new DefinitionsRegistry({
      distro: 'jazzy',
      dirs: [pkg({ 'msg/Stamped.msg': 'Header header\n' })],
    });
    expect(() => registry.resolve('odd_msgs/msg/Stamped')).toThrow(
      'no definition for odd_msgs/msg/Header (needed by odd_msgs/msg/Stamped); a bare `Header` in a .msg of odd_msgs means odd_msgs/msg/Header: for the standard one write `std_msgs/Header`',
    );
  });
});
