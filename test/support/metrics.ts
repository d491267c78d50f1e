/** A scrape of GET /metrics: `name{labels}` → value. */
export type Samples = Map<string, number>;

/** Scrapes /metrics anonymously, as Prometheus does. */
export async function scrape(baseUrl: string): Promise<Samples> {
  const res = await fetch(`${baseUrl}/metrics`);
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
  const samples: Samples = new Map();
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

/** A sample's value (0 when absent). */
export const value = (s: Samples, key: string): number => s.get(key) ?? 0;

/** The sum of a metric over all its label sets. */
export function total(s: Samples, name: string): number {
  let sum = 0;
  for (const [key, v] of s) if (key === name || key.startsWith(`${name}{`)) sum += v;
  return sum;
}
