import { describe, expect, it } from 'vitest';
import { outputText } from './output-text.ts';

describe('outputText', () => {
  it('is a string output as it is, and JSON otherwise', () => {
    expect(outputText({ ok: true, output: 'battery 87%' })).toBe('battery 87%');
    expect(outputText({ ok: true, output: { stopped: true, cancelled: null } })).toBe(
      '{"stopped":true,"cancelled":null}',
    );
    expect(outputText({ ok: true, output: undefined })).toBe('');
  });

  it('serializes a large output once per result, and each result afresh', () => {
    let serialized = 0;
    const output = {
      ranges: new Array(500).fill(1.5),
      toJSON() {
        serialized++;
        return { ranges: this.ranges };
      },
    };
    const result = { ok: true as const, output };
    const text = outputText(result);
    expect(outputText(result)).toBe(text);
    expect(serialized).toBe(1);
    outputText({ ok: true, output });
    expect(serialized).toBe(2);
  });

  it('serializes a small output once when the screen and the model ask for the same result in turn', () => {
    let serialized = 0;
    const output = { toJSON: () => (serialized++, { stopped: true }) };
    const result = { ok: true as const, output };
    expect(outputText(result)).toBe('{"stopped":true}');
    expect(outputText(result)).toBe('{"stopped":true}');
    expect(serialized).toBe(1);
    outputText({ ok: true, output: 'other' });
    outputText({ ok: true, output: { other: 1 } });
    expect(outputText(result)).toBe('{"stopped":true}');
    expect(serialized).toBe(2);
  });
});
