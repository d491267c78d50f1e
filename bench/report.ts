/** The benchmark's tables (stdout, bench/results.md, docs/performance.md) and its chart (bench/fanout.svg, hand-written SVG). */
import type { RollingRestartReport } from '../test/support/rolling-restart.js';
import { writeFileSync } from 'node:fs';
import type { Plan, ServerKind, ServerResult } from './run.js';

type Kind = ServerKind;
type Results = Partial<Record<Kind, ServerResult>>;

export interface Row {
  metric: string;
  unit: string;
  app: number | null;
  /** The app of `--before-dir` (another checkout), when given. */
  before?: number | null;
  /** The Nest floor (bench/baseline-nest.ts). */
  nest: number | null;
  bare: number | null;
  naive: number | null;
  /** app ÷ Nest floor of the same run. */
  ratioFloor: number | null;
  /** app ÷ bare baseline of the same run. */
  ratio: number | null;
  /** app ÷ before, when a before tree ran. */
  ratioBefore?: number | null;
  target: string;
  met: boolean | null;
  note?: string;
}

/** Issue 12's figures for main before the work (one run, same machine): what "3× main" means without --before-dir. */
export const MAIN_ORDERS_PER_SECOND = 250;
export const MAIN_CPU_PER_ORDER_MS = 3.7;

const r2 = (x: number) => Math.round(x * 100) / 100;
function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  return a == null || b == null || b === 0 ? null : r2(a / b);
}

function row(
  metric: string,
  unit: string,
  pick: (s: ServerResult) => number | null | undefined,
  results: Results,
  target = '',
  check?: (r: Row) => boolean | null,
  note?: string,
): Row {
  const v = (k: Kind) => {
    const s = results[k];
    const x = s ? pick(s) : null;
    return x == null ? null : x;
  };
  const r: Row = {
    metric,
    unit,
    app: v('app'),
    nest: v('nest'),
    bare: v('bare'),
    naive: v('naive'),
    ratioFloor: null,
    ratio: null,
    target,
    met: null,
    note,
  };
  if (results.before) r.before = v('before');
  fillRatios(r);
  r.met = check ? check(r) : null;
  return r;
}

/** A row with no target: what it measured, and how. */
function reportOnly(
  metric: string,
  unit: string,
  pick: (s: ServerResult) => number | null | undefined,
  results: Results,
  note: string | undefined,
): Row {
  return row(metric, unit, pick, results, '', undefined, note);
}

function fillRatios(r: Row): void {
  r.ratioFloor = ratio(r.app, r.nest);
  r.ratio = ratio(r.app, r.bare);
  if (r.before !== undefined) r.ratioBefore = ratio(r.app, r.before);
}

/** The orders step at `rate`, or null. */
function orderStep(s: ServerResult, rate: number): any {
  return s.orders?.steps.find((x) => x.rate === rate) ?? null;
}

/** The highest rate it kept up with, else the step where it achieved the most (at capacity). */
function topOrderStep(s: ServerResult): any {
  const steps = s.orders?.steps ?? [];
  const kept = steps.filter((x) => x.keptUp);
  if (kept.length) return kept[kept.length - 1];
  return steps.reduce<any>((best, x) => (best && best.deliveredPerSecond >= x.deliveredPerSecond ? best : x), null);
}

export function summaryRows(results: Results, plan: Plan): Row[] {
  const rows: Row[] = [];
  // The issue's targets are for the full run (10k streams, 10k replay); a smoke run only shows its figures.
  const full = plan.replay >= 10000;
  const T = (target: string) => (full ? target : '');
  const C = (check: (r: Row) => boolean | null) => (full ? check : undefined);
  const floorAtMost = (x: number) => C((r) => (r.ratioFloor == null ? null : r.ratioFloor <= x));
  const top = Math.max(...plan.levels);
  for (const level of plan.levels) {
    const idle = (s: ServerResult) => s.idle.find((x) => x.streams === level);
    const isTop = level === top;
    rows.push(
      row(
        `idle heap per stream @${level}`,
        'KB',
        (s) => idle(s)?.heapPerStreamKB,
        results,
        isTop ? T('≤ 1.1× floor') : '',
        isTop ? floorAtMost(1.1) : undefined,
        isTop ? 'heap after a forced GC, every server' : undefined,
      ),
    );
    rows.push(row(`idle RSS per stream @${level}`, 'KB', (s) => idle(s)?.rssPerStreamKB, results));
  }
  for (const level of plan.levels) {
    const f = (s: ServerResult) => s.fanout.find((x) => x.streams === level);
    const isTop = level === top;
    rows.push(row(`fan-out p50 @${level}`, 'ms', (s) => f(s)?.p50, results));
    rows.push(
      row(
        `fan-out p99 @${level}`,
        'ms',
        (s) => f(s)?.p99,
        results,
        isTop ? T('≤ 1.1× floor') : '',
        isTop ? floorAtMost(1.1) : undefined,
      ),
    );
    rows.push(row(`fan-out max @${level}`, 'ms', (s) => f(s)?.max, results));
  }
  rows.push(
    reportOnly(
      `idle CPU with ${top} streams open`,
      '% core',
      (s) => s.idleCpuPct,
      results,
      'heartbeats and per-connection timers',
    ),
  );
  const fTop = (s: ServerResult) => s.fanout.find((x) => x.streams === top);
  rows.push(
    reportOnly(
      `fan-out server CPU per delivery @${top}`,
      'µs',
      (s) => fTop(s)?.cpuPerDeliveryUs,
      results,
      'process CPU time over the rounds ÷ deliveries',
    ),
  );
  rows.push(
    reportOnly(
      `fan-out load-process CPU per receipt @${top}`,
      'µs',
      (s) => fTop(s)?.loadCpuPerReceiptUs,
      results,
      'the measuring side',
    ),
  );
  rows.push(
    row(
      `reconnect storm: ${top} streams, all ready (≤ ${plan.stormConcurrency} in flight)`,
      'ms',
      (s) => s.storm?.ms,
      results,
      T('≤ 1.5× floor'),
      floorAtMost(1.5),
      'every stream reopened at once with Last-Event-ID; first connect → last ready (baselines: first event)',
    ),
  );
  rows.push(row('reconnect storm: one stream connect → ready, p50', 'ms', (s) => s.storm?.ready.p50, results));
  rows.push(row('reconnect storm: one stream connect → ready, p99', 'ms', (s) => s.storm?.ready.p99, results));
  rows.push(
    reportOnly(
      'reconnect storm: server CPU per open',
      'µs',
      (s) => s.storm?.cpuPerOpenUs,
      results,
      'process CPU time over the storm ÷ streams',
    ),
  );
  rows.push(
    row(
      'targeted sustained, internal publish',
      '/s',
      (s) => s.targeted.sustained,
      results,
      T('≥ 20,000/s'),
      C((r) => (r.app == null ? null : r.app >= 20000)),
      'highest offered rate delivered completely at ≥ 90 % of that rate (step start → last receipt); app = persisted and delivered',
    ),
  );
  rows.push(row('targeted capacity (max delivered/s)', '/s', (s) => s.targeted.capacity, results));
  rows.push(row('targeted p50 @5,000/s', 'ms', (s) => s.targeted.at5k?.p50, results));
  rows.push(
    row(
      'targeted p99 @5,000/s',
      'ms',
      (s) => s.targeted.at5k?.p99,
      results,
      T('≤ 50 ms'),
      C((r) => (r.app == null ? null : r.app <= 50)),
    ),
  );
  rows.push(
    row(
      'targeted server CPU per notification @5,000/s',
      'µs',
      (s) => s.targeted.steps.find((x) => x.rate === 5000)?.cpuPerNotificationUs,
      results,
    ),
  );
  if (results.app?.orders) {
    // The apps and the Nest floor (bench/baseline-nest.ts) have orders. The goal compares
    // capacities: a "sustained" rate is 0 when even the lowest step lags, and 3 × 0 proves nothing.
    const mainRate = results.before?.orders?.available ? null : MAIN_ORDERS_PER_SECOND;
    const note = results.app.orders.available ? undefined : results.app.orders.note;
    rows.push(
      row(
        'POST /orders sustained',
        '/s',
        (s) => (s.orders?.available ? s.orders.sustained : null),
        results,
        undefined,
        undefined,
        note ?? 'highest rate all created and their order.placed events delivered at ≥ 90 % of it',
      ),
    );
    rows.push(
      row(
        'POST /orders capacity (max achieved/s)',
        '/s',
        (s) => (s.orders?.available ? s.orders.capacity : null),
        results,
        T(mainRate ? `≥ 3× main (${MAIN_ORDERS_PER_SECOND}/s in issue 12)` : '≥ 3× before'),
        C((r) =>
          r.app == null ? null : mainRate ? r.app >= 3 * mainRate : r.before == null ? null : r.app >= 3 * r.before,
        ),
      ),
    );
    rows.push(
      row(
        'POST /orders app CPU per order (top kept-up rate, else at capacity)',
        'ms',
        (s) => topOrderStep(s)?.cpuPerOrderMs,
        results,
        T('≤ 1.2 ms'),
        C((r) => (r.app == null ? null : r.app <= 1.2)),
        `app process CPU over the step ÷ orders created; main in issue 12: ≈ ${MAIN_CPU_PER_ORDER_MS} ms`,
      ),
    );
    const at = 300;
    const hasAt = plan.orderRates.includes(at);
    const ladderRate = hasAt ? at : plan.orderRates[0];
    for (const q of ['p50', 'p99'] as const) {
      rows.push(
        row(
          `POST /orders response ${q} @${ladderRate}/s`,
          'ms',
          (s) => (s.orders ? orderStep(s, ladderRate)?.response[q] : null),
          results,
          q === 'p99' && hasAt ? T('≤ 100 ms') : '',
          q === 'p99' && hasAt ? C((r) => (r.app == null ? null : r.app <= 100)) : undefined,
          q === 'p99' ? 'sent → 201' : undefined,
        ),
      );
    }
    rows.push(
      reportOnly(
        `POST /orders to its event p99 @${ladderRate}/s`,
        'ms',
        (s) => (s.orders ? orderStep(s, ladderRate)?.latency.p99 : null),
        results,
        'sent → order.placed on the user’s stream',
      ),
    );
  }
  // Issue 22: another service publishing with an API key, to one user per request and to 1,000 in one.
  for (const r of results.app?.api?.runs ?? []) {
    const same = (s: ServerResult) => s.api?.runs.find((x) => x.recipients === r.recipients);
    rows.push(
      row(
        `POST /v1/notifications to ${r.recipients}: rows/s`,
        '/s',
        (s) => same(s)?.rowsPerSecond,
        results,
        undefined,
        undefined,
        `${same(results.app!)?.requestsPerSecond} requests/s, ${r.concurrency} in flight; notifications written and answered`,
      ),
    );
    rows.push(
      row(`POST /v1/notifications to ${r.recipients}: response p99`, 'ms', (s) => same(s)?.latency.p99, results),
    );
  }
  rows.push(
    row(
      `replay of ${plan.replay} after Last-Event-ID`,
      'ms',
      (s) => s.replay.ms,
      results,
      T('≤ 1,000 ms'),
      C((r) => (r.app == null ? null : r.app <= 1000)),
    ),
  );
  rows.push(row('replay heap peak over before', 'MB', (s) => s.replay.heapPeakDeltaMB, results, T('flat')));
  // Issue 24: the shapes an operator sees, several streams per user, the users seeded or signed up.
  for (const shape of plan.shapes ?? []) {
    const sh = (s: ServerResult) => s.shapes?.find((x) => x.name === shape.name);
    const n = shape.users * shape.perUser;
    const who = `${shape.signup ? 'signed up' : 'seeded'}, ${shape.users} users × ${shape.perUser}`;
    rows.push(
      row(
        `shape ${shape.name}: ${n} opens, all ready`,
        'ms',
        (s) => sh(s)?.idle.openMs,
        results,
        T('≤ 1.1× floor'),
        floorAtMost(1.1),
        `${who}; ≤ ${plan.openConcurrency ?? 128} handshakes in flight`,
      ),
    );
    rows.push(row(`shape ${shape.name}: server CPU per open`, 'µs', (s) => sh(s)?.idle.cpuPerOpenUs, results));
    rows.push(
      row(
        `shape ${shape.name}: heap per stream`,
        'KB',
        (s) => sh(s)?.idle.heapPerStreamKB,
        results,
        T('≤ 1.1× floor'),
        floorAtMost(1.1),
      ),
    );
    rows.push(row(`shape ${shape.name}: fan-out p50`, 'ms', (s) => sh(s)?.fanout.p50, results));
    rows.push(
      row(
        `shape ${shape.name}: fan-out p99`,
        'ms',
        (s) => sh(s)?.fanout.p99,
        results,
        T('≤ 1.1× floor'),
        floorAtMost(1.1),
        'POST /admin/broadcasts sent → the event on every stream',
      ),
    );
  }
  // Issue 24: rows Postgres serves per notification, with more instances on one database.
  for (const r of results.app?.feedReads ?? []) {
    const same = (s: ServerResult) => s.feedReads?.find((x) => x.bus === r.bus && x.instances === r.instances);
    const one = results.app!.feedReads!.find((x) => x.bus === r.bus && x.instances === 1);
    const label = `${r.bus} bus, ${r.instances} instance${r.instances === 1 ? '' : 's'}`;
    const isMore = r.instances > 1 && one !== undefined;
    // How it is measured goes beside the 1-instance rows only.
    const how = (note: string) => (r.instances === 1 ? note : undefined);
    rows.push(
      row(
        `feed rows read back per notification, ${label}`,
        'rows',
        (s) => same(s)?.feedRowsPerNotification,
        results,
        isMore ? T('as with 1 instance (± 0.05)') : '',
        isMore ? C((x) => (x.app == null ? null : Math.abs(x.app - one.feedRowsPerNotification!) <= 0.05)) : undefined,
        how('notifications_feed_rows_read_total of every instance ÷ notifications'),
      ),
    );
    rows.push(
      reportOnly(
        `feed statement rows per notification, ${label}`,
        'rows',
        (s) => same(s)?.statementRowsPerNotification,
        results,
        how('pg_stat_statements: the feeds’ SELECT, any build'),
      ),
    );
    rows.push(
      reportOnly(
        `CPU of one instance per notification, ${label}`,
        'µs',
        (s) => same(s)?.cpuUsPerNotification,
        results,
        how('each instance publishes its share and routes every row (capacity model)'),
      ),
    );
  }
  // Issue 24: a broadcast with deliver to users with no stream open, per method.
  for (const r of results.app?.offlineFanout ?? []) {
    const same = (s: ServerResult) => s.offlineFanout?.find((x) => x.method === r.method);
    const what = r.method === 'email' ? 'emails' : 'pushes';
    rows.push(
      row(
        `offline fan-out to ${r.recipients}: ${what}/s`,
        '/s',
        (s) => same(s)?.perSecond,
        results,
        T('≥ 1,000/s'),
        C((x) => (x.app == null ? null : x.app >= 1000)),
        `first to last at the local sink, ${r.instances} instance${r.instances === 1 ? '' : 's'}; ${same(results.app!)?.perSecondFromPost}/s from the POST`,
      ),
    );
    rows.push(
      row(
        `offline fan-out to ${r.recipients}: ${what} not exactly once`,
        'users',
        (s) => (same(s) ? same(s)!.twice + same(s)!.missing : null),
        results,
        T('0'),
        C((x) => (x.app == null ? null : x.app === 0)),
      ),
    );
    rows.push(
      row(
        `offline fan-out: app CPU per ${r.method === 'email' ? 'email' : 'push'}`,
        'µs',
        (s) => same(s)?.cpuUsPerMessage,
        results,
      ),
    );
  }
  const ids = results.app?.idOrdering;
  if (ids) {
    const only = (label: string, v: number | null) => {
      const r = row(label, '/s', () => null, {}, '', undefined, 'issue 3: persisted/s');
      r.app = v;
      if (results.before) r.before = null;
      rows.push(r);
    };
    only('ids: group commit (send), persisted+delivered', ids.groupCommitSend);
    only(`ids: 1 tx/notification + lock, ${ids.concurrency} writers`, ids.txPerNotificationWithLock);
    only(`ids: 1 tx/notification, no lock, ${ids.concurrency} writers`, ids.txPerNotificationNoLock);
    only('ids: POST /orders (statements shared by concurrent orders, + lock)', ids.postOrders);
  }
  return rows;
}

const fmt = (x: number | null | undefined) =>
  x == null ? '—' : Math.abs(x) >= 1000 ? Math.round(x).toLocaleString('en-US') : String(Math.round(x * 100) / 100);
const times = (x: number | null | undefined) => (x == null ? '—' : `${x}×`);

export function markdownTable(rows: Row[]): string {
  const withBefore = rows.some((r) => r.before !== undefined);
  const lines = [
    `| metric | unit | app |${withBefore ? ' before |' : ''} Nest floor | bare node:http | naive Express | app ÷ floor | app ÷ bare |${withBefore ? ' app ÷ before |' : ''} target | met |`,
    `| --- | --- | ---: |${withBefore ? ' ---: |' : ''} ---: | ---: | ---: | ---: | ---: |${withBefore ? ' ---: |' : ''} --- | --- |`,
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.metric} | ${r.unit} | ${fmt(r.app)} |${withBefore ? ` ${fmt(r.before)} |` : ''} ${fmt(r.nest)} | ${fmt(r.bare)} | ${fmt(r.naive)} | ${times(r.ratioFloor)} | ${times(r.ratio)} |${withBefore ? ` ${times(r.ratioBefore)} |` : ''} ${r.target} | ${r.met == null ? '' : r.met ? 'yes' : '**no**'} |`,
    );
  }
  return lines.join('\n');
}

/** The POST /orders ladder, one line per app and rate. */
export function ordersTable(results: Results): string {
  const lines = [
    '| server | offered /s | created | achieved /s | response p50 ms | response p99 ms | to event p99 ms | app CPU ms/order | kept up |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const kind of ['app', 'before'] as const) {
    const o = results[kind]?.orders;
    if (!o) continue;
    if (!o.available) lines.push(`| ${kind} | — | — | — | — | — | — | — | ${o.note ?? 'unavailable'} |`);
    for (const st of o.steps) {
      lines.push(
        `| ${kind} | ${fmt(st.rate)} | ${fmt(st.created)} | ${fmt(st.deliveredPerSecond)} | ${fmt(st.response?.p50)} | ${fmt(st.response?.p99)} | ${fmt(st.latency?.p99)} | ${fmt(st.cpuPerOrderMs)} | ${st.keptUp ? 'yes' : '**no**'} |`,
      );
    }
  }
  return lines.join('\n');
}

interface ReportLike {
  date: string;
  machine: {
    cpus: number;
    model: string;
    memoryGB: number;
    node: string;
    os: string;
    loadAverage: { start: number; end: number };
  };
  summary: Row[];
  servers: Results;
}

/** bench/results.md: the summary table, then the orders ladder. */
export function resultsMarkdown(report: ReportLike): string {
  const m = report.machine;
  const ladder = report.servers.app?.orders ? `\n\nPOST /orders ladder:\n\n${ordersTable(report.servers)}` : '';
  const rolling = report.servers.app?.rollingRestart ? `\n\n${rollingTable(report.servers.app.rollingRestart)}` : '';
  return `Benchmark ${report.date} — ${m.cpus} × ${m.model}, ${m.memoryGB} GB, Node ${m.node}, ${m.os}, load average ${m.loadAverage.start} → ${m.loadAverage.end}\n\n${markdownTable(report.summary)}${ladder}${rolling}\n`;
}

/** Each restart's reconnect storm: where the stopped instance's streams went, and how long it took. */
function rollingTable(r: RollingRestartReport): string {
  const answers = Object.entries(r.orderAnswers)
    .map(([k, v]) => `${v}× ${k}`)
    .join(', ');
  const head =
    `Rolling restart behind nginx: ${r.streams} streams, ${r.orders} orders (${answers}), lost ${r.lost}, ` +
    `duplicated ${r.duplicated}, stream answers other than 200: ${r.streamProblems.length}\n\n` +
    '| restart | stopped in ms | streams moved | first reconnect ms | all reconnected ms | reconnects per instance |\n' +
    '| --- | ---: | ---: | ---: | ---: | --- |\n';
  const rows = r.storms.map(
    (s) =>
      `| ${s.instance} | ${s.stopMs} | ${s.moved} | ${s.firstReconnectMs} | ${s.allReconnectedMs} | ` +
      `${Object.entries(s.perInstance)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ')} |`,
  );
  return head + rows.join('\n');
}

export function printTable(
  rows: Row[],
  date: string,
  machine: { cpus: number; model: string; node: string; loadAverage?: { start: number; end: number } },
  results?: Results,
): void {
  const load = machine.loadAverage ? `, load average ${machine.loadAverage.start} → ${machine.loadAverage.end}` : '';
  console.log(`\nBenchmark ${date} — ${machine.cpus} × ${machine.model}, Node ${machine.node}${load}\n`);
  console.log(markdownTable(rows));
  if (results?.app?.orders) console.log(`\nPOST /orders ladder:\n\n${ordersTable(results)}`);
  console.log('');
}

// ------------------------------------------------------------------ chart
export function writeFanoutSvg(
  file: string,
  results: Results,
  date: string,
  machine: { cpus: number; model: string; node: string },
): void {
  const W = 820;
  const H = 440;
  const m = { l: 70, r: 240, t: 60, b: 60 };
  const lx = W - m.r + 85; // legend, right of the end-of-line labels
  const series: Array<{ kind: Kind; label: string; color: string }> = [
    { kind: 'app', label: 'app (NestJS)', color: '#d62728' },
    { kind: 'before', label: 'app, before', color: '#ff9896' },
    { kind: 'nest', label: 'Nest floor', color: '#2ca02c' },
    { kind: 'bare', label: 'bare node:http', color: '#1f77b4' },
    { kind: 'naive', label: 'naive Express', color: '#7f7f7f' },
  ];
  const points = series
    .filter((s) => results[s.kind])
    .map((s) => ({
      ...s,
      data: results[s.kind]!.fanout.map((f) => ({ x: f.streams, p50: f.p50 ?? 0, p99: f.p99 ?? 0 })),
    }));
  const xMax = Math.max(1, ...points.flatMap((p) => p.data.map((d) => d.x)));
  const yRaw = Math.max(1, ...points.flatMap((p) => p.data.map((d) => d.p99)));
  const step = niceStep(yRaw / 5);
  const yMax = Math.ceil(yRaw / step) * step;
  const X = (x: number) => m.l + (x / xMax) * (W - m.l - m.r);
  const Y = (y: number) => H - m.b - (y / yMax) * (H - m.t - m.b);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(
    `<text x="${m.l}" y="24" font-size="15" font-weight="bold">Broadcast fan-out: publish call → receipt on every stream</text>`,
  );
  out.push(
    `<text x="${m.l}" y="42" fill="#555">${esc(`${date.slice(0, 10)} · ${machine.cpus} × ${machine.model} · Node ${machine.node} · medians of rounds`)}</text>`,
  );
  for (let y = 0; y <= yMax + 1e-9; y += step) {
    out.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${Y(y)}" y2="${Y(y)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${m.l - 8}" y="${Y(y) + 4}" text-anchor="end">${fmt(y)}</text>`);
  }
  const xs = [...new Set(points.flatMap((p) => p.data.map((d) => d.x)))].sort((a, b) => a - b);
  for (const x of [0, ...xs]) {
    out.push(`<line x1="${X(x)}" x2="${X(x)}" y1="${H - m.b}" y2="${H - m.b + 5}" stroke="#333"/>`);
    out.push(`<text x="${X(x)}" y="${H - m.b + 19}" text-anchor="middle">${x.toLocaleString('en-US')}</text>`);
  }
  out.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#333"/>`);
  out.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#333"/>`);
  out.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 16}" text-anchor="middle">open streams</text>`);
  out.push(
    `<text transform="translate(20 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">latency (ms)</text>`,
  );
  for (const p of points) {
    for (const q of ['p99', 'p50'] as const) {
      const path = p.data.map((d, i) => `${i ? 'L' : 'M'}${X(d.x).toFixed(1)},${Y(d[q]).toFixed(1)}`).join(' ');
      out.push(
        `<path d="${path}" fill="none" stroke="${p.color}" stroke-width="2"${q === 'p50' ? ' stroke-dasharray="5 4"' : ''}/>`,
      );
      for (const d of p.data) {
        out.push(
          `<circle cx="${X(d.x).toFixed(1)}" cy="${Y(d[q]).toFixed(1)}" r="3" fill="${p.color}"><title>${esc(`${p.label} ${q} at ${d.x}: ${d[q]} ms`)}</title></circle>`,
        );
      }
      const last = p.data[p.data.length - 1];
      if (last && q === 'p99')
        out.push(
          `<text x="${X(last.x) + 8}" y="${Y(last.p99) + 4}" fill="${p.color}">${Math.round(last.p99)} ms</text>`,
        );
    }
  }
  let ly = m.t + 10;
  for (const p of points) {
    out.push(`<line x1="${lx}" x2="${lx + 25}" y1="${ly}" y2="${ly}" stroke="${p.color}" stroke-width="2"/>`);
    out.push(`<text x="${lx + 32}" y="${ly + 4}">${esc(p.label)}</text>`);
    ly += 20;
  }
  out.push(
    `<line x1="${lx}" x2="${lx + 25}" y1="${ly + 6}" y2="${ly + 6}" stroke="#333" stroke-width="2"/><text x="${lx + 32}" y="${ly + 10}">p99</text>`,
  );
  out.push(
    `<line x1="${lx}" x2="${lx + 25}" y1="${ly + 26}" y2="${ly + 26}" stroke="#333" stroke-width="2" stroke-dasharray="5 4"/><text x="${lx + 32}" y="${ly + 30}">p50</text>`,
  );
  out.push('</svg>');
  writeFileSync(file, out.join('\n') + '\n');
}

function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const f of [1, 2, 2.5, 5, 10]) if (f * p >= raw) return f * p;
  return 10 * p;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
