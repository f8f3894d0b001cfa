/**
 * What the dev stack has started, stopped in reverse order. A resource registers its stop as soon
 * as it exists, and a stop waits for the starts still in flight: a signal in the middle of start-up
 * leaves nothing running.
 */
export class Resources {
  private readonly stops: { name: string; stop: () => Promise<void> }[] = [];
  private readonly starting = new Set<Promise<unknown>>();
  private closed = false;

  async open<T>(name: string, start: () => Promise<T>, stop: (resource: T) => Promise<void>): Promise<T> {
    // A start-up cut short by a signal must not start anything once the stop has begun.
    if (this.closed) throw new Error(`not starting ${name}: stopping`);
    const started = start().then((resource) => {
      this.stops.push({ name, stop: () => stop(resource) });
      return resource;
    });
    this.starting.add(started);
    try {
      return await started;
    } finally {
      this.starting.delete(started);
    }
  }

  /** Stops everything started (waiting for starts in flight), last first; logs what failed to stop. */
  async closeAll(log: (m: string) => void): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.starting]);
    for (const { name, stop } of this.stops.splice(0).reverse()) {
      try {
        await stop();
        log(`[dev] stopped ${name}`);
      } catch (err) {
        log(`[dev] stopping ${name} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}
