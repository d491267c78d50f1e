import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import semver from 'semver';

/**
 * Issue 20, item 3: `npm ci` warns EBADENGINE for every installed package whose `engines.node`
 * leaves out the running Node. `engines` in package.json is the promise made to users; it is
 * true only if every package in the lockfile supports every version it names.
 */
const read = (file: string) => JSON.parse(readFileSync(new URL(`../${file}`, import.meta.url), 'utf8'));
const manifest = read('package.json') as { engines: { node: string } };
const lock = read('package-lock.json') as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
};

describe('engines', () => {
  it('every locked package supports every Node version package.json promises', () => {
    const ours = manifest.engines.node;
    const narrower = Object.entries(lock.packages).flatMap(([path, pkg]) => {
      const theirs = Array.isArray(pkg.engines) ? undefined : pkg.engines?.node;
      if (!path || !theirs || semver.subset(ours, theirs)) return [];
      return [`${path.replace(/^.*node_modules\//, '')}@${pkg.version} wants ${theirs}`];
    });
    expect(narrower).toStrictEqual([]);
  });

  it('the lockfile was written from this package.json, and this Node is one it promises', () => {
    expect((lock.packages[''] as { engines?: unknown }).engines).toStrictEqual(manifest.engines);
    expect(semver.satisfies(process.version, manifest.engines.node)).toBe(true);
  });
});
