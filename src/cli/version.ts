import { readFileSync } from 'node:fs';

/** The version of this installation, from its package.json (two levels up from dist/cli/ and from dist/bundle/ alike). */
export function gaVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
