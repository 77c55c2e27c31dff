import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Value } from 'typebox/value';
import { afterEach, describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.ts';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { RecorderConfig } from '../../daemon/config/sections/bags.ts';
import { Recorder, type RecorderSettings } from '../../daemon/recorder/recorder.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';

// An unfinished bag says so. After kill -9 during recording, `bag info DIR` said "not a bag: its
// metadata.yaml names no storage file that exists" while the split was there, and `bag info FILE` rightly
// said to run `bag repair`. The directory form says the same as the file form.

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A bag as a recorder leaves it mid-split: its first split open, metadata.yaml naming no file yet. */
async function bagBeingRecorded(): Promise<{ bag: string; split: string }> {
  const dir = tempDir('unfinished-bag-');
  cleanups.push(dir.cleanup);
  const registry = new DefinitionsRegistry({ distro: 'jazzy' });
  const bus = new Bus();
  const settings = {
    ...(Value.Default(RecorderConfig, {}) as RecorderSettings),
    enabled: true,
    compression: 'none' as const,
    chunk_size_bytes: 2048,
    min_free_bytes: 0,
  };
  const recorder = new Recorder({
    bus,
    definitions: registry,
    log: pino({ level: 'silent' }),
    bagsDir: join(dir.path, 'bags'),
    settings,
  });
  await recorder.start();
  cleanups.push(() => recorder.close());
  const pub = bus.advertise('/chatter', 'std_msgs/msg/String', { source: 'test' });
  const codec = new MessageCodec(registry);
  for (let i = 0; i < 50; i++) pub.publish(codec.encode('std_msgs/msg/String', { data: `${i} `.padEnd(200, '.') }));
  await waitFor(() => recorder.written()['/chatter'] === 50, 'the recorder to write every message');
  await recorder.flush(); // on disk, the split still unfinished (no summary)
  const bag = join(dir.path, 'bags', readdirSync(join(dir.path, 'bags'))[0]!);
  const split = readdirSync(bag).find((f) => f.endsWith('.mcap'))!;
  return { bag, split: join(bag, split) };
}

describe('bag info on a bag whose recording did not finish', () => {
  it('says of the directory what it says of its split: cut short, run bag repair', async () => {
    const { bag, split } = await bagBeingRecorded();
    const ofFile = await runMain(['bag', 'info', split]);
    const ofDir = await runMain(['bag', 'info', bag]);
    expect(ofFile.code).toBe(1);
    expect(ofDir.code).toBe(1);
    expect(ofFile.stderr).toContain(`\`auraison-edge bag repair ${bag}\``);
    expect(ofDir.stderr).toContain(`\`auraison-edge bag repair ${bag}\``);
    expect(ofDir.stderr).not.toContain('not a bag');
    // The same words: the split's own error, whichever form was asked.
    const why = (text: string) => text.slice(text.indexOf('truncated MCAP'));
    expect(why(ofDir.stderr)).toBe(why(ofFile.stderr));
  });
});
