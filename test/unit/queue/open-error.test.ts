import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { classifyOpenError, isTransient, type OpenErrorKind } from '../../../src/queue/open-error.js';

interface CapturedError {
  code?: string;
  message: string;
  cause?: CapturedError;
}

/** Errors classic-level 3 really reported (see capture-open-errors.mjs), with their codes and cause chains. */
const captured = JSON.parse(
  readFileSync(new URL('../../fixtures/queue/open-errors.json', import.meta.url), 'utf8'),
) as Record<string, { kind: OpenErrorKind; error: CapturedError }>;

function rebuild(e: CapturedError): Error {
  const error = new Error(e.message, e.cause === undefined ? undefined : { cause: rebuild(e.cause) });
  if (e.code !== undefined) Object.assign(error, { code: e.code });
  return error;
}

describe('classifyOpenError', () => {
  it.each(Object.entries(captured))('classifies %s as captured from LevelDB', (_name, { kind, error }) => {
    expect(classifyOpenError(rebuild(error)).kind).toBe(kind);
  });

  it('names the file LevelDB names', () => {
    expect(classifyOpenError(rebuild(captured.permissionTable!.error)).path).toBe(
      'table-unreadable/000007.ldb',
    );
    expect(classifyOpenError(rebuild(captured.permissionLock!.error)).path).toBe('root-owned-0600/LOCK');
    expect(classifyOpenError(rebuild(captured.tableMissing!.error)).path).toBe('table-missing/000005.ldb');
  });

  it('keeps LevelDB’s own message as the detail', () => {
    expect(classifyOpenError(rebuild(captured.readOnly!.error)).detail).toBe(
      'IO error: ro/LOCK: Read-only file system',
    );
  });

  it('classifies an I/O error (EIO), which LevelDB reports in the same shape as the others', () => {
    // Not captured: a failing medium is hard to make on demand. Same shape as `permissionTable`.
    const eio = rebuild({ code: 'LEVEL_IO_ERROR', message: 'IO error: q/000012.ldb: Input/output error' });
    expect(classifyOpenError(eio)).toEqual({
      kind: 'io',
      path: 'q/000012.ldb',
      detail: 'IO error: q/000012.ldb: Input/output error',
    });
  });

  it('uses the code of a Node fs error', () => {
    const eacces = Object.assign(new Error("EACCES: permission denied, mkdir '/x/queue'"), {
      code: 'EACCES',
      path: '/x/queue',
    });
    expect(classifyOpenError(eacces)).toMatchObject({ kind: 'permission', path: '/x/queue' });
  });

  it('never calls an error it does not recognise corruption', () => {
    expect(classifyOpenError(new Error('something else')).kind).toBe('unknown');
    expect(classifyOpenError('a string').kind).toBe('unknown');
  });

  it('calls only read-only, I/O, descriptor and space errors transient', () => {
    const transient = (['readOnly', 'io', 'tooManyFiles', 'noSpace'] as const).map(isTransient);
    const permanent = (
      ['permission', 'missing', 'notDirectory', 'corrupt', 'unknown', 'locked'] as const
    ).map(isTransient);
    expect(transient.every(Boolean)).toBe(true);
    expect(permanent.some(Boolean)).toBe(false);
  });
});
