import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runMain, tempDir } from '../helpers/cli.ts';

const tmp = tempDir('central-config-');
afterAll(() => tmp.cleanup());

async function check(yaml: string): Promise<{ code: number | null; out: string }> {
  const file = join(tmp.path, 'edge.yaml');
  writeFileSync(file, yaml);
  const { code, stdout } = await runMain(['config', 'check', '--config', file]);
  return { code, out: stdout };
}

describe('the central section of the config', () => {
  it('refuses a link switched on with no broker, or one that is no MQTT URL, naming the key', async () => {
    expect(await check('central: {enabled: true}\n')).toMatchObject({
      code: 2,
      out: expect.stringContaining('central.url: required when central.enabled is true'),
    });
    const http = await check('central: {enabled: true, url: "http://broker:1883"}\n');
    expect(http.code).toBe(2);
    expect(http.out).toContain('central.url: expected an mqtt://, mqtts://, ws:// or wss:// URL');
    const bare = await check('central: {enabled: true, url: "broker.local:1883"}\n');
    expect(bare.out).toContain('did you mean "mqtt://broker.local:1883"?');
  });

  it('never shows the password of a broker URL, and wants both halves of a client certificate', async () => {
    const secret = await check('central: {enabled: true, url: "http://robot:hunter2@broker:1883"}\n');
    expect(secret.out).not.toContain('hunter2');
    expect(secret.out).toContain('robot:***@broker');
    expect(await check('central: {cert_file: /etc/robot.pem}\n')).toMatchObject({
      code: 2,
      out: expect.stringContaining('central.key_file: a client certificate needs both cert_file and key_file'),
    });
    expect(await check('central: {reconnect_min_s: 10, reconnect_max_s: 1}\n')).toMatchObject({
      code: 2,
      out: expect.stringContaining('central.reconnect_max_s'),
    });
    expect(await check('central: {keepalive_s: 10, intent_ack_timeout_s: 8}\n')).toMatchObject({
      code: 2,
      out: expect.stringContaining('central.intent_ack_timeout_s: 8 is over half of central.keepalive_s (10)'),
    });
    expect(
      await check(
        'central: {enabled: true, url: "mqtts://central.example.com:8883", password: "${NOT_SET_ANYWHERE}"}\n',
      ),
    ).toMatchObject({ code: 2, out: expect.stringContaining('NOT_SET_ANYWHERE') });
  });

  it('takes a valid link, and an unknown key gets a did-you-mean', async () => {
    expect(
      await check('central: {enabled: true, url: "mqtt://central.example.com:1883", username: robot}\n'),
    ).toMatchObject({ code: 0 });
    expect((await check('central: {enabled: true, url: "mqtt://c:1883", heartbeat: 5}\n')).out).toMatch(
      /central.heartbeat: unknown key.*heartbeat_s/,
    );
  });
});
