// The environment an agent process gets, and nothing more: PATH, locale,
// GA_AGENT, GA_RUN, a scratch HOME of its own, and the variables its trusted
// allowlist names. Never SSH_AUTH_SOCK, never the user's HOME or git config.
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Allowlist } from '../schema/agent.js';

const LOCALE = /^(LANG|LANGUAGE|LC_[A-Z_]+|TZ)$/;
const NEVER = new Set(['SSH_AUTH_SOCK', 'HOME', 'GIT_CONFIG_GLOBAL', 'GIT_CONFIG_PARAMETERS']);

/** The ga binary of this installation, for the agent's `ga propose`. */
export const GA_BIN = resolve(import.meta.dirname, '../../bin/ga.js');

/** A private HOME for one run, with a `ga` on its PATH. */
export function makeScratchHome(agent: string): { home: string; bin: string } {
  const home = mkdtempSync(join(tmpdir(), `ga-home-${agent}-`));
  chmodSync(home, 0o700);
  const bin = join(home, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'ga'), `#!/bin/sh\nexec "${process.execPath}" "${GA_BIN}" "$@"\n`, { mode: 0o755 });
  return { home, bin };
}

export function agentEnvironment(
  parent: NodeJS.ProcessEnv,
  opts: { agent: string; run: string; home: string; bin: string; allowlist: Allowlist },
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(parent)) {
    if (v !== undefined && LOCALE.test(k)) env[k] = v;
  }
  for (const name of opts.allowlist.env) {
    const v = parent[name];
    if (v !== undefined && !NEVER.has(name)) env[name] = v;
  }
  env.PATH = `${opts.bin}:${parent.PATH ?? '/usr/local/bin:/usr/bin:/bin'}`;
  env.HOME = opts.home;
  env.GA_AGENT = opts.agent;
  env.GA_RUN = opts.run;
  return env;
}
