import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A file of DATA_DIR generated once and then kept: the first writer wins, atomically (written
 * aside, then hard-linked into place, which fails if another process got there first), so
 * instances starting together on one DATA_DIR agree and nobody reads a half-written file.
 */
export function generatedOnce(dataDir: string, name: string, generate: () => string): string {
  const file = join(dataDir, name);
  try {
    return readFileSync(file, 'utf8');
  } catch {
    mkdirSync(dataDir, { recursive: true });
    const aside = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(aside, generate(), { mode: 0o600 });
    try {
      linkSync(aside, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      unlinkSync(aside);
    }
    return readFileSync(file, 'utf8');
  }
}
