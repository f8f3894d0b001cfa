/**
 * Optional per-statement profile (--profile): wraps pg.Client.prototype.query and adds up the wall
 * time of each kind of statement (its first words), COPY streams included (until 'finish'), pool.query
 * (callback style) included. Time spent in Node between statements (expansion, parsing) is not listed.
 */
import pg from 'pg';

export interface ProfileEntry {
  label: string;
  calls: number;
  ms: number;
}

export function installQueryProfile(): { entries(): ProfileEntry[]; reset(): void; uninstall(): void } {
  const proto = pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
  const original = proto.query;
  const table = new Map<string, ProfileEntry>();
  const label = (q: unknown): string => {
    const text =
      typeof q === 'string'
        ? q
        : ((q as { text?: string; name?: string })?.text ??
          (q as { constructor?: { name?: string } })?.constructor?.name ??
          '?');
    return String(text).replace(/\s+/g, ' ').trim().slice(0, 60);
  };
  const add = (l: string, ms: number) => {
    const e = table.get(l) ?? { label: l, calls: 0, ms: 0 };
    e.calls += 1;
    e.ms += ms;
    table.set(l, e);
  };
  proto.query = function (this: unknown, ...args: unknown[]) {
    const t0 = performance.now();
    const l = label((args[0] as { text?: string })?.text ?? args[0]);
    const cb = args[args.length - 1];
    if (typeof cb === 'function') {
      // pool.query calls client.query with a callback.
      args[args.length - 1] = (...r: unknown[]) => {
        add(l, performance.now() - t0);
        return (cb as (...x: unknown[]) => unknown)(...r);
      };
      return original.apply(this, args);
    }
    const out = original.apply(this, args) as { then?: unknown; on?: (ev: string, f: () => void) => void };
    if (out && typeof (out as Promise<unknown>).then === 'function') {
      (out as Promise<unknown>).then(
        () => add(l, performance.now() - t0),
        () => add(l, performance.now() - t0),
      );
    } else if (out && typeof out.on === 'function') {
      const copyLabel = `COPY ${String((args[0] as { text?: string })?.text ?? '')
        .replace(/\s+/g, ' ')
        .slice(5, 40)}`;
      let done = false;
      const fin = () => {
        if (!done) {
          done = true;
          add(copyLabel, performance.now() - t0);
        }
      };
      out.on('finish', fin);
      out.on('error', fin);
    }
    return out;
  };
  return {
    entries: () => [...table.values()].sort((a, b) => b.ms - a.ms),
    reset: () => table.clear(),
    uninstall: () => {
      proto.query = original;
    },
  };
}

/**
 * CPU profile of this process between start() and stop() (node:inspector), summarised as self time
 * per function (file:line), and written as a .cpuprofile file (open it in Chrome DevTools).
 */
export async function startCpuProfile(): Promise<{
  stop(file: string | null): Promise<{ totalMs: number; top: { label: string; ms: number }[] }>;
}> {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return {
    async stop(file) {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      if (file) (await import('node:fs')).writeFileSync(file, JSON.stringify(profile));
      const byId = new Map(profile.nodes.map((n) => [n.id, n]));
      const self = new Map<string, number>();
      let total = 0;
      const deltas = profile.timeDeltas ?? [];
      (profile.samples ?? []).forEach((id, i) => {
        const n = byId.get(id);
        if (!n) return;
        const cf = n.callFrame;
        const label = `${cf.functionName || '(anonymous)'} ${cf.url.split('/').slice(-2).join('/')}:${cf.lineNumber + 1}`;
        const us = deltas[i] ?? 0;
        total += us;
        self.set(label, (self.get(label) ?? 0) + us);
      });
      const top = [...self.entries()]
        .map(([label, us]) => ({ label, ms: us / 1000 }))
        .sort((a, b) => b.ms - a.ms)
        .slice(0, 15);
      return { totalMs: total / 1000, top };
    },
  };
}
