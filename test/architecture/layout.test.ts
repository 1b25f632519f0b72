// One owner for the repository layout: no source file but src/layout/
// spells a governance path or an id pattern. A writer and a judge that
// disagree about a path would be a bypass; this keeps them from ever
// spelling one apart.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/fixture.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The code of a file without comments and without the specifiers of its imports. */
function code(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1')
    .replace(/\bfrom\s+'[^']*'/g, "from ''")
    .replace(/\bimport\(\s*'[^']*'\s*\)/g, "import('')");
}

const SPELLINGS: [RegExp, string][] = [
  [/['"`/^](?:proposals|agents|policies|ledger|audit)\\?\//, 'a governance path'],
  [/\/PAUSED\b/, 'the pause marker path'],
  [/\[a-z0-9\]/, 'an id pattern'],
];

describe('the layout module owns every governance path and id pattern', () => {
  const files = sources(join(ROOT, 'src')).filter((f) => !f.includes(`${join('src', 'layout')}/`));

  it('finds the sources it scans', () => {
    expect(files.length).toBeGreaterThan(50);
  });

  it('no source outside src/layout/ spells one', () => {
    const found: string[] = [];
    for (const f of files) {
      code(readFileSync(f, 'utf8'))
        .split('\n')
        .forEach((line, i) => {
          for (const [re, what] of SPELLINGS) if (re.test(line)) found.push(`${relative(ROOT, f)}:${i + 1}: ${what}: ${line.trim().slice(0, 120)}`);
        });
    }
    expect(found).toEqual([]);
  });

  it('the check itself sees a spelled path', () => {
    expect(SPELLINGS[0]![0].test(code('const p = `agents/${id}/agent.toml`; // a comment about proposals/ is fine'))).toBe(true);
    expect(SPELLINGS[0]![0].test(code("import { x } from '../agents/trusted.js'; // ledger/ in a comment"))).toBe(false);
  });
});
