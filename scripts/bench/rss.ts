/** Peak resident set size of this process, sampled (process.memoryUsage().rss) every `everyMs`. */
export class RssSampler {
  private timer: NodeJS.Timeout | null = null;
  peak = 0;
  private phasePeak = 0;

  constructor(private readonly everyMs = 25) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    this.timer.unref();
    return this;
  }

  sample(): void {
    const rss = process.memoryUsage().rss;
    if (rss > this.peak) this.peak = rss;
    if (rss > this.phasePeak) this.phasePeak = rss;
  }

  /** Starts a new phase; phasePeakSince() gives the peak since then. */
  resetPhase(): void {
    this.phasePeak = process.memoryUsage().rss;
  }

  phasePeakSince(): number {
    this.sample();
    return this.phasePeak;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
  }
}

export const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
