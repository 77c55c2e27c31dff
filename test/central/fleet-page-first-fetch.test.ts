import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.ts';

// Before its first answer the fleet page said "no robot has reported yet", a claim about the fleet that nothing had
// asked central yet; on a slow central (or one that refuses the page's token) it stayed so.
describe('the fleet page before its first fetch', () => {
  it('says it is asking; only an answer with no robot says none has reported', () => {
    const html = readFileSync(join(ROOT, 'central/page/index.html'), 'utf8');
    const robots = /<table id="robots">[\s\S]*?<tbody>([\s\S]*?)<\/tbody>/.exec(html)![1]!;
    expect(robots).toContain('asking central for its robots');
    expect(robots).not.toContain('no robot has reported yet');
    const app = readFileSync(join(ROOT, 'central/page/app.js'), 'utf8');
    expect(app).toMatch(/fill\('robots', list\.map\(robotRow\), \d+, 'no robot has reported yet'\)/);
  });
});
