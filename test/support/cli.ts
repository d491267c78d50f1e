import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A built command-line tool of the project (`dist/src/cli/<name>.js`); fails loudly when it was not built. */
export function cliPath(name: string): string {
  const path = fileURLToPath(new URL(`../../dist/src/cli/${name}.js`, import.meta.url));
  if (!existsSync(path)) throw new Error(`${path} is missing: build first (npm run build)`);
  return path;
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `script` under this Node with only the environment given (nothing from
 * the surroundings: no REDIS_URL, no DATABASE_URL of the developer's), `stdin`
 * piped in and closed, and answers its exit code and output.
 */
export function runCli(
  script: string,
  args: string[],
  options: { env: Record<string, string>; cwd?: string; stdin?: string },
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}
