// A repository's own .git/config read in process: ga reads it on every
// command, and `git config --file F --no-includes --list -z` costs a process
// (10 to 15 ms). ga refuses some keys it finds there, so a map from here must
// be the one git lists, or none: only the plain lines git itself writes are
// read, and anything else (quotes, escapes, inline comments, text after a
// section header, CRLF, a key before any section) is left to git.
//
// What git does with the lines read here (config.c, checked against git by
// test/git/config-file.test.ts): section and key names are case-insensitive,
// a subsection keeps its case; spaces and tabs around a value are dropped,
// and each one inside it becomes a space (runs are kept, not collapsed);
// `key =` is the empty string, a bare `key` lists with no value (true).

// `[section]` or `[section "subsection"]`; a dot in the name is git's old
// subsection syntax, which git takes as written (lower-cased) into the key.
const SECTION = /^[ \t]*\[([A-Za-z0-9.-]+)(?:[ \t]+"([^"\\]*)")?\][ \t]*$/;
// `key` alone, or `key =` and its value (taken apart below, not in the
// pattern, so that a long line of blanks costs no backtracking).
const ENTRY = /^[ \t]*([A-Za-z][A-Za-z0-9-]*)[ \t]*(=|$)/;
// Control characters (\r of CRLF, NUL) but tab and newline, a byte order mark,
// and U+FFFD (bytes that were not UTF-8, lost when the file was decoded).
const AWKWARD = /[\u0000-\u0008\u000b-\u001f\u007f\ufeff\ufffd]/;

/**
 * Every key of a config file as `git config --file F --no-includes --list -z`
 * lists it, lower-cased whole (`remote.origin.url`), and its value (`'true'`
 * for a bare key), in file order, the last value winning; undefined when the
 * text is not in the plain subset read here: ask git.
 */
export function parseSimpleConfig(text: string): Map<string, string> | undefined {
  if (AWKWARD.test(text)) return undefined;
  const config = new Map<string, string>();
  let section: string | undefined;
  for (const line of text.split('\n')) {
    if (/^[ \t]*(?:[#;]|$)/.test(line)) continue;
    const header = SECTION.exec(line);
    if (header) {
      section = header[2] === undefined ? header[1]! : `${header[1]!}.${header[2]}`;
      continue;
    }
    const entry = ENTRY.exec(line);
    if (!entry || section === undefined) return undefined;
    const value = entry[2] ? trimBlanks(line.slice(entry[0].length)) : 'true';
    // quotes, escapes and comments change what git reads
    if (/["\\#;]/.test(value)) return undefined;
    config.set(`${section}.${entry[1]!}`.toLowerCase(), value.replace(/\t/g, ' '));
  }
  return config;
}

/** Without the spaces and tabs around it (only those: git keeps any other blank). */
function trimBlanks(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && (s[start] === ' ' || s[start] === '\t')) start++;
  while (end > start && (s[end - 1] === ' ' || s[end - 1] === '\t')) end--;
  return s.slice(start, end);
}

/**
 * The files `git config --list` reads besides the repository's own, in the
 * order git reads them (a later value wins), for the environment ga gives git
 * (src/git/exec.ts gitEnv): the system file, unless GIT_CONFIG_NOSYSTEM says
 * not; then $GIT_CONFIG_GLOBAL alone, or $XDG_CONFIG_HOME/git/config (else
 * ~/.config/git/config) and ~/.gitconfig. Undefined wherever git's own answer
 * could differ: a git whose system file is not /etc/gitconfig (only
 * /usr/bin/git, as Debian builds it, is known to read that one), a variable
 * git would read otherwise (a relative path, a boolean it would reject),
 * no HOME. Ask git then.
 */
export function userConfigFiles(env: NodeJS.ProcessEnv, gitProgram: string | undefined): { file: string; scope: 'system' | 'global' }[] | undefined {
  const files: { file: string; scope: 'system' | 'global' }[] = [];
  const noSystem = flag(env.GIT_CONFIG_NOSYSTEM);
  if (noSystem === undefined) return undefined;
  if (!noSystem) {
    if (gitProgram !== '/usr/bin/git') return undefined;
    files.push({ file: '/etc/gitconfig', scope: 'system' });
  }
  const global = env.GIT_CONFIG_GLOBAL;
  if (global !== undefined) {
    if (!global.startsWith('/')) return undefined;
    return [...files, { file: global, scope: 'global' }];
  }
  const home = env.HOME;
  if (!home?.startsWith('/')) return undefined;
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg !== undefined && xdg !== '' && !xdg.startsWith('/')) return undefined;
  files.push({ file: `${xdg ? xdg : `${home}/.config`}/git/config`, scope: 'global' });
  files.push({ file: `${home}/.gitconfig`, scope: 'global' });
  return files;
}

/** A variable as git_env_bool reads it (unset is false); undefined for a value git would refuse or read as a number. */
function flag(value: string | undefined): boolean | undefined {
  if (value === undefined) return false;
  const v = value.toLowerCase();
  if (['', 'false', 'no', 'off', '0'].includes(v)) return false;
  if (['true', 'yes', 'on', '1'].includes(v)) return true;
  return undefined;
}
