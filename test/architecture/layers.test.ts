// The layers of src/ (docs/architecture.md) hold, and a wrong arrow fails:
// dependency-cruiser runs the rules of .dependency-cruiser.cjs on src/, and on
// a copy of src/ with one wrong import planted, for each kind of rule.
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/fixture.js';

const DEPCRUISE = join(ROOT, 'node_modules', '.bin', 'depcruise');
const MADGE = join(ROOT, 'node_modules', '.bin', 'madge');

function cruise(cwd: string): { code: number; out: string } {
  const r = spawnSync(DEPCRUISE, ['src', '--config', join(ROOT, '.dependency-cruiser.cjs'), '--output-type', 'err'], { cwd, encoding: 'utf8' });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

describe('the layers of src/', () => {
  it('src/ follows every rule', () => {
    const r = cruise(ROOT);
    expect(r.out, r.out).toMatch(/no dependency violations found/);
    expect(r.code).toBe(0);
  });

  it('madge finds no cycle', () => {
    const r = spawnSync(MADGE, ['--circular', '--extensions', 'ts', 'src'], { cwd: ROOT, encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toMatch(/No circular dependency found/);
    expect(r.status).toBe(0);
  });

  describe('a wrong arrow fails', () => {
    let copy: string;
    beforeAll(() => {
      copy = mkdtempSync(join(tmpdir(), 'ga-layers-'));
      cpSync(join(ROOT, 'tsconfig.json'), join(copy, 'tsconfig.json'));
    });
    afterAll(() => rmSync(copy, { recursive: true, force: true }));

    it.each([
      ['read-model-stays-below', 'history/find.ts', "import '../runner/run.js';"],
      ['infrastructure-stays-below', 'git/repo.ts', "import '../history/replay.js';"],
      ['actions-stay-below', 'executor/execute.ts', "import '../watchdog/sweep.js';"],
      ['no-sideways-operations', 'runner/run.ts', "import '../watchdog/sweep.js';"],
      ['no-sideways-actions', 'pause/actions.ts', "import '../proposals/decide.js';"],
      ['no-circular', 'layout/layout.ts', "import '../schema/common.js';"],
    ])('%s', (rule, file, line) => {
      rmSync(join(copy, 'src'), { recursive: true, force: true });
      cpSync(join(ROOT, 'src'), join(copy, 'src'), { recursive: true });
      appendFileSync(join(copy, 'src', file), `\n${line}\n`);
      const r = cruise(copy);
      expect(r.code, r.out).not.toBe(0);
      expect(r.out).toContain(rule);
    });
  });
});
