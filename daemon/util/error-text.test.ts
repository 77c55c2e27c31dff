import { describe, expect, it } from 'vitest';
import { errorText } from './error-text.ts';

describe('errorText', () => {
  it("is an Error's message, without its name or stack", () => {
    expect(errorText(new TypeError('no such topic'))).toBe('no such topic');
  });

  it('is the string of anything else thrown', () => {
    expect(errorText('disk full')).toBe('disk full');
    expect(errorText(42)).toBe('42');
    expect(errorText(undefined)).toBe('undefined');
  });
});
