/*
 * Where a bench step's CPU and database time went: the app's own counter, the database's
 * processes and the whole machine (from /proc), and pg_stat_statements.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';

/** An instance's process CPU seconds so far (prom-client's default metric), or null. */
export async function cpuSeconds(port: number): Promise<number | null> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('process_cpu_seconds_total '));
  return line === undefined ? null : Number(line.split(' ').pop());
}

/**
 * pg_stat_statements, when the server preloads it (the bench's embedded one does): reset before a
 * run, read after it, so a run reports its statements per message and where the database's time went.
 */
export async function databaseStatements(url: string, action: 'reset' | 'read'): Promise<string | null> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const preload = await c.query<{ setting: string }>(
      `SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries'`,
    );
    if (!preload.rows[0]?.setting.includes('pg_stat_statements')) return null;
    await c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    if (action === 'reset') {
      await c.query('SELECT pg_stat_statements_reset()');
      return null;
    }
    const { rows } = await c.query<{ calls: string; ms: string; query: string }>(
      `SELECT calls::text, round(total_exec_time)::text AS ms, left(regexp_replace(query, '\\s+', ' ', 'g'), 90) AS query
         FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
        ORDER BY total_exec_time DESC LIMIT 5`,
    );
    return rows.map((r) => `${r.ms} ms in ${r.calls} calls: ${r.query}`).join('\n      ');
  } finally {
    await c.end();
  }
}

/** Clock ticks per second in /proc's CPU times (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** A process's user + system CPU so far, in µs, from /proc (0 once it has exited). */
function processCpuUs(pid: number): number {
  try {
    // The fields after the command (which may hold spaces) start after its ')'.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/**
 * CPU (µs) the database's processes have used so far: every backend and background process
 * pg_stat_activity lists. Read before and after a step, the difference is the database's share
 * of the machine (a backend that exits in between drops out; the app's pool keeps its own).
 */
export async function databaseCpuUs(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid()');
    return rows.reduce((sum, r) => sum + processCpuUs(r.pid), 0);
  } finally {
    await c.end();
  }
}

/** The whole machine's busy and total CPU time so far (µs, all cores), from /proc/stat. */
export function machineCpuUs(): { busy: number; total: number } {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const t = ticks.slice(0, 8).map(Number); // user nice system idle iowait irq softirq steal
  const total = t.reduce((a, b) => a + b, 0);
  const idle = t[3] + t[4];
  return { busy: ((total - idle) * 1e6) / TICKS_PER_SECOND, total: (total * 1e6) / TICKS_PER_SECOND };
}
