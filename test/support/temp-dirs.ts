import { afterAll } from '@jest/globals';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A maker of temporary directories for a test file, each removed after the file's tests.
 * They are world-traversable: as root, the embedded PostgreSQL runs as the "postgres" user
 * and must reach a data directory inside them.
 */
export function tempDirs(prefix: string): () => string {
  const made: string[] = [];
  afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    chmodSync(dir, 0o755);
    made.push(dir);
    return dir;
  };
}
