// A minimal Prometheus registry: counters, histograms and collected gauges, rendered in the text
// exposition format 0.0.4. In memory, per process; what a scrape of `omni listen` needs and nothing
// more (no client library: the format is a few lines of text).

export type Labels = Record<string, string>;

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const escapeHelp = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeValue = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

function labelText(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  return `{${keys.map((k) => `${k}="${escapeValue(labels[k]!)}"`).join(',')}}`;
}

function num(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return Number.isNaN(v) ? 'NaN' : String(v);
}

interface Metric {
  render(): string[];
}

export class Counter implements Metric {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    /** Label sets that exist from the start at 0, so rate() and alerts see them before the first event. */
    initial: Labels[] = [],
  ) {
    for (const l of initial) this.values.set(labelText(l), { labels: l, value: 0 });
  }
  inc(labels: Labels = {}, by = 1): void {
    this.series(labels).value += by;
  }
  /** One label set's series, looked up once: the hot path increments `.value` with no label text built per event. */
  series(labels: Labels = {}): { value: number } {
    const key = labelText(labels);
    let cur = this.values.get(key);
    if (!cur) this.values.set(key, (cur = { labels, value: 0 }));
    return cur;
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelText(labels))?.value ?? 0;
  }
  render(): string[] {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} counter`];
    for (const { labels, value } of this.values.values()) lines.push(`${this.name}${labelText(labels)} ${num(value)}`);
    return lines;
  }
}

export class Histogram implements Metric {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(
    readonly name: string,
    readonly help: string,
    /** Upper bounds, ascending; +Inf is implied. */
    readonly buckets: number[],
  ) {
    this.counts = buckets.map(() => 0);
  }
  observe(value: number): void {
    this.sum += value;
    this.count++;
    const i = this.buckets.findIndex((b) => value <= b);
    if (i >= 0) this.counts[i]!++;
  }
  get observations(): number {
    return this.count;
  }
  render(): string[] {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} histogram`];
    let cumulative = 0;
    this.buckets.forEach((b, i) => {
      cumulative += this.counts[i]!;
      lines.push(`${this.name}_bucket{le="${num(b)}"} ${cumulative}`);
    });
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${num(this.sum)}`, `${this.name}_count ${this.count}`);
    return lines;
  }
}

/** A gauge read at scrape time. The collector returns no samples when the value is unknown (then nothing is rendered). */
export class Gauge implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly collect: () => Array<{ labels?: Labels; value: number }>,
  ) {}
  render(): string[] {
    let samples: Array<{ labels?: Labels; value: number }>;
    try {
      samples = this.collect();
    } catch {
      // A scrape must not fail because one source (the database) does not answer right now.
      return [];
    }
    if (samples.length === 0) return [];
    return [
      `# HELP ${this.name} ${escapeHelp(this.help)}`,
      `# TYPE ${this.name} gauge`,
      ...samples.map((s) => `${this.name}${labelText(s.labels ?? {})} ${num(s.value)}`),
    ];
  }
}

export class Registry {
  private readonly metrics: Metric[] = [];
  add<M extends Metric>(metric: M): M {
    this.metrics.push(metric);
    return metric;
  }
  render(): string {
    return this.metrics.flatMap((m) => m.render()).join('\n') + '\n';
  }
}
