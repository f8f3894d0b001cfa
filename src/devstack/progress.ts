/**
 * Start-up progress on stderr: one line per phase with its duration, and counters that rewrite
 * their line on a terminal (or print at every tenth when the output is a file or a pipe).
 */
export class Progress {
  private readonly started = Date.now();
  private readonly tty: boolean;

  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {
    this.tty = !!out.isTTY;
  }

  elapsed(since = this.started): string {
    return `${((Date.now() - since) / 1000).toFixed(1)} s`;
  }

  line(text: string): void {
    this.out.write(`${text}\n`);
  }

  /** A phase: `[dev] name …` now, `[dev] ✓ name: detail (1.2 s)` when done. */
  async phase<T>(name: string, run: () => Promise<T>, detail: (result: T) => string): Promise<T> {
    const t0 = Date.now();
    this.line(`[dev] … ${name}`);
    const result = await run();
    this.line(`[dev] ✓ ${name}: ${detail(result)} (${this.elapsed(t0)})`);
    return result;
  }

  /** A counter toward a total: call update() as it moves, end() once. */
  counter(name: string): { update(done: number, total: number, text: string): void; end(): void } {
    let printedTenth = -1;
    let last = '';
    return {
      update: (done, total, text) => {
        last = `[dev]   ${name} ${bar(done, total)} ${text}`;
        if (this.tty) this.out.write(`\r\x1b[2K${last}`);
        else {
          const tenth = Math.floor((10 * done) / Math.max(1, total));
          if (tenth > printedTenth) {
            printedTenth = tenth;
            this.line(last);
          }
        }
      },
      end: () => {
        if (this.tty && last) this.out.write('\n');
      },
    };
  }
}

function bar(done: number, total: number, width = 20): string {
  const filled = Math.round((width * done) / Math.max(1, total));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}
