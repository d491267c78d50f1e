/**
 * Reading the profiles of `npm run bench -- --profile DIR`:
 *
 *   node dist/bench/analyze.js cpu DIR/app-fanout-10000.cpuprofile [top]
 *     self time by function and by package (where the CPU goes);
 *   node --max-old-space-size=4096 dist/bench/analyze.js heap DIR/app-0.heapsnapshot DIR/app-1000.heapsnapshot 1000
 *     retained-by-nobody-in-particular, plain self sizes by constructor,
 *     growth between two snapshots divided by the stream count (bytes per stream).
 */
import { readFileSync } from 'node:fs';

function category(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native/builtin)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm !== -1) {
    const rest = url.slice(nm + 13).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return url;
  const d = url.indexOf('/dist/');
  return d !== -1 ? url.slice(d + 6) : url;
}

function cpu(file: string, top: number): void {
  const p = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: Array<{
      id: number;
      callFrame: { functionName: string; url: string; lineNumber: number };
      hitCount?: number;
      children?: number[];
    }>;
    samples: number[];
    timeDeltas: number[];
    startTime: number;
    endTime: number;
  };
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // The first delta covers the profiler's own start-up: not the workload.
  for (let i = 1; i < p.samples.length; i++)
    selfUs.set(p.samples[i], (selfUs.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  const total = p.endTime - p.startTime - (p.timeDeltas[0] ?? 0);
  const fn = new Map<string, number>();
  const cat = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    const f = n.callFrame;
    const where = f.url ? `${category(f.url, f.functionName)}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    const c = category(f.url, f.functionName);
    cat.set(c, (cat.get(c) ?? 0) + us);
  }
  const idle = cat.get('(idle)') ?? 0;
  const busy = total - idle;
  console.log(`${file}: ${(total / 1000).toFixed(0)} ms profiled, ${(busy / 1000).toFixed(0)} ms not idle\n`);
  const show = (m: Map<string, number>, n: number) =>
    [...m]
      .filter(([k]) => !k.startsWith('(idle)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .forEach(([k, us]) =>
        console.log(`${(us / 1000).toFixed(1).padStart(9)} ms ${((us / busy) * 100).toFixed(1).padStart(5)}%  ${k}`),
      );
  console.log('by package / file (self time, % of the non-idle time):');
  show(cat, 25);
  console.log('\nby function (self time):');
  show(fn, top);
}

interface Snapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[]];
      edge_fields: string[];
      edge_types: [string[]];
      location_fields: string[];
    };
  };
  nodes: number[];
  edges: number[];
  locations: number[];
  strings: string[];
}

/** Self sizes grouped by constructor; closures by function and source line (where per-connection state is born). */
function heapBy(file: string): Map<string, { size: number; count: number }> {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const f = s.snapshot.meta.node_fields;
  const width = f.length;
  const T = f.indexOf('type');
  const N = f.indexOf('name');
  const S = f.indexOf('self_size');
  const EC = f.indexOf('edge_count');
  const types = s.snapshot.meta.node_types[0];
  const ef = s.snapshot.meta.edge_fields;
  const ew = ef.length;
  const ET = ef.indexOf('type');
  const EN = ef.indexOf('name_or_index');
  const ETO = ef.indexOf('to_node');
  const etypes = s.snapshot.meta.edge_types[0];
  // First edge of each node.
  const firstEdge = new Uint32Array(s.nodes.length / width + 1);
  for (let i = 0, e = 0; i < s.nodes.length; i += width) {
    firstEdge[i / width] = e;
    e += s.nodes[i + EC] * ew;
  }
  const edge = (node: number, name: string): number => {
    const idx = node / width;
    const end = firstEdge[idx] + s.nodes[node + EC] * ew;
    for (let e = firstEdge[idx]; e < end; e += ew) {
      const t = etypes[s.edges[e + ET]];
      if ((t === 'internal' || t === 'property' || t === 'context') && s.strings[s.edges[e + EN]] === name)
        return s.edges[e + ETO];
    }
    return -1;
  };
  const line = new Map<number, number>();
  const lf = s.snapshot.meta.location_fields;
  for (let i = 0; i < s.locations.length; i += lf.length)
    line.set(s.locations[i + lf.indexOf('object_index')], s.locations[i + lf.indexOf('line')] + 1);
  const scriptName = (closure: number): string => {
    const sfi = edge(closure, 'shared');
    if (sfi < 0) return '?';
    let script = edge(sfi, 'script');
    if (script < 0) script = edge(sfi, 'script_or_debug_info');
    if (script < 0) return '?';
    const name = edge(script, 'name');
    return name < 0 ? '?' : category(s.strings[s.nodes[name + N]], '');
  };
  const out = new Map<string, { size: number; count: number }>();
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + T]];
    let name = s.strings[s.nodes[i + N]];
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = '(strings)';
    else if (type === 'closure') name = `closure ${name || '(anonymous)'} ${scriptName(i)}:${line.get(i) ?? '?'}`;
    else if (type === 'code') name = '(compiled code)';
    else if (type === 'number') name = '(heap numbers)';
    else if (type !== 'object') name = `(${type}) ${name.length > 60 ? name.slice(0, 60) + '…' : name}`;
    const e = out.get(name) ?? { size: 0, count: 0 };
    e.size += s.nodes[i + S];
    e.count++;
    out.set(name, e);
  }
  return out;
}

function heap(before: string, after: string, per: number, top: number): void {
  const a = heapBy(before);
  const b = heapBy(after);
  const rows: Array<[string, number, number]> = [];
  let total = 0;
  for (const [k, v] of b) {
    const o = a.get(k) ?? { size: 0, count: 0 };
    const d = v.size - o.size;
    total += d;
    rows.push([k, d, v.count - o.count]);
  }
  for (const [k, o] of a) if (!b.has(k)) rows.push([k, -o.size, -o.count]);
  rows.sort((x, y) => y[1] - x[1]);
  console.log(
    `growth ${before} → ${after}: ${(total / 1024 / 1024).toFixed(1)} MB, ${(total / per).toFixed(0)} B per unit (÷ ${per})\n`,
  );
  console.log('   bytes/unit  objects/unit  constructor');
  for (const [k, d, c] of rows.slice(0, top))
    console.log(`${(d / per).toFixed(0).padStart(12)}  ${(c / per).toFixed(2).padStart(12)}  ${k}`);
  // Closures by the package that made them: who keeps per-connection state alive.
  const byPkg = new Map<string, [number, number]>();
  for (const [k, d, c] of rows) {
    if (!k.startsWith('closure ')) continue;
    const where = k.split(' ')[2] ?? '?';
    const pkg = where.slice(0, where.lastIndexOf(':')) || where;
    const e = byPkg.get(pkg) ?? [0, 0];
    byPkg.set(pkg, [e[0] + d, e[1] + c]);
  }
  console.log('\nclosures by package: bytes/unit  closures/unit');
  for (const [k, [d, c]] of [...byPkg].sort((a, b) => b[1][0] - a[1][0]).slice(0, 15))
    console.log(`${(d / per).toFixed(0).padStart(12)}  ${(c / per).toFixed(2).padStart(12)}  ${k}`);
}

const [mode, a, b, c] = process.argv.slice(2);
if (mode === 'cpu') cpu(a, Number(b ?? 40));
else if (mode === 'heap') heap(a, b, Number(c ?? 1), Number(process.env.TOP ?? 45));
else {
  console.error('usage: analyze.js cpu FILE.cpuprofile [top] | heap BEFORE.heapsnapshot AFTER.heapsnapshot [per]');
  process.exit(2);
}
