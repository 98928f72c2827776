import { errorMessage } from '../errors.js';

/**
 * Why the queue database did not open, as far as LevelDB tells. Only `corrupt` is ever repaired: every other
 * kind says the files may well be intact and something around them (owner, mode, mount, disk) is wrong.
 *
 * - `locked`: another process holds LevelDB's LOCK (a second daemon).
 * - `noSpace`: ENOSPC; opening replays the log into a new table and needs room.
 * - `permission`: EACCES/EPERM on a file or the directory (another user's files, a 0600 file from root).
 * - `readOnly`: EROFS; LevelDB cannot even take its LOCK on a read-only mount.
 * - `io`: EIO; the medium failed a read or a write (an SD card going bad, a USB disk unplugged).
 * - `tooManyFiles`: EMFILE/ENFILE; the process or system ran out of file descriptors.
 * - `missing`: a file the database needs is not there (ENOENT, or LevelDB's "N missing files").
 * - `notDirectory`: the queue path is a file, or a path component is (ENOTDIR/EEXIST).
 * - `corrupt`: LevelDB's own `Corruption:` status (checksum mismatch, bad block type, bad manifest), or a
 *   table file shorter than the manifest says (EINVAL reading past its end: a power cut).
 * - `unknown`: anything else; treated like a permanent fault, never repaired.
 */
export type OpenErrorKind =
  | 'locked'
  | 'noSpace'
  | 'permission'
  | 'readOnly'
  | 'io'
  | 'tooManyFiles'
  | 'missing'
  | 'notDirectory'
  | 'corrupt'
  | 'unknown';

export interface ClassifiedOpenError {
  kind: OpenErrorKind;
  /** The file LevelDB names in its message (`IO error: <path>: <strerror>`), when it names one. */
  path: string | undefined;
  /** LevelDB's own message, from the innermost error that has one. */
  detail: string;
}

/**
 * LevelDB reports an OS error only as text, `IO error: <path>: <strerror(errno)>`, under classic-level's code
 * LEVEL_IO_ERROR; damage is LEVEL_CORRUPTION with a `Corruption: …` message. The errno survives only as
 * its strerror text, so that text is matched here, and nowhere else. Node's own errors (classic-level creates
 * the directory with `fs.mkdir` before LevelDB runs) carry a real `code`.
 */
const BY_STRERROR: readonly [RegExp, OpenErrorKind][] = [
  [/No space left on device/, 'noSpace'],
  [/Permission denied|Operation not permitted/, 'permission'],
  [/Read-only file system/, 'readOnly'],
  [/Input\/output error/, 'io'],
  [/Too many open files/, 'tooManyFiles'],
  [/No such file or directory/, 'missing'],
  [/Not a directory|File exists/, 'notDirectory'],
];

const BY_NODE_CODE: Readonly<Record<string, OpenErrorKind>> = {
  ENOSPC: 'noSpace',
  EACCES: 'permission',
  EPERM: 'permission',
  EROFS: 'readOnly',
  EIO: 'io',
  EMFILE: 'tooManyFiles',
  ENFILE: 'tooManyFiles',
  ENOENT: 'missing',
  ENOTDIR: 'notDirectory',
  EEXIST: 'notDirectory',
};

/** Pure: what kind of failure `e` (a classic-level open or read error, or a Node fs error) is. */
export function classifyOpenError(e: unknown): ClassifiedOpenError {
  const chain = causeChain(e);
  const innermost = chain[chain.length - 1];
  const detail = innermost === undefined ? errorMessage(e) : innermost.message;
  const path = /^IO error: (.+): [^:]+$/.exec(detail)?.[1] ?? pathOfNodeError(chain);
  for (const error of chain) {
    const code = (error as { code?: unknown }).code;
    if (code === 'LEVEL_LOCKED') return { kind: 'locked', path, detail };
    if (typeof code === 'string' && code in BY_NODE_CODE && !code.startsWith('LEVEL_')) {
      return { kind: BY_NODE_CODE[code] ?? 'unknown', path, detail };
    }
  }
  for (const error of chain) {
    const code = (error as { code?: unknown }).code;
    if (code === 'LEVEL_CORRUPTION' || error.message.startsWith('Corruption:')) {
      // "Corruption: 2 missing files; e.g.: <dir>/000006.ldb": a table the manifest lists is gone. Repair would
      // forget its contents for good; the file may only be misplaced (a partial restore), so ask instead.
      const missing = /missing files; e\.g\.: (.+)$/.exec(error.message);
      if (missing !== null) return { kind: 'missing', path: missing[1], detail };
      return { kind: 'corrupt', path, detail };
    }
  }
  // LevelDB maps table files into memory and reports a read past the end of the mapping as EINVAL: a table
  // shorter than the manifest says, which is what a power cut leaves. That is damage, and repair handles it.
  if (/Invalid argument$/.test(detail) && /\.(ldb|sst)$/.test(path ?? ''))
    return { kind: 'corrupt', path, detail };
  for (const [pattern, kind] of BY_STRERROR) if (pattern.test(detail)) return { kind, path, detail };
  return { kind: 'unknown', path, detail };
}

/** Whether trying again later, without anyone changing anything, may succeed. */
export function isTransient(kind: OpenErrorKind): boolean {
  return kind === 'readOnly' || kind === 'io' || kind === 'tooManyFiles' || kind === 'noSpace';
}

function causeChain(e: unknown): Error[] {
  const chain: Error[] = [];
  for (let cause = e; cause instanceof Error && chain.length < 8; cause = cause.cause) chain.push(cause);
  return chain;
}

function pathOfNodeError(chain: Error[]): string | undefined {
  for (const error of chain) {
    const path = (error as { path?: unknown }).path;
    if (typeof path === 'string') return path;
  }
  return undefined;
}
