/**
 * Merging the reports of parallel aggregation shards: every number is summed (the statistics are
 * additive, and so are the counts); non-numeric fields are taken from the first report.
 */
export function sumReports<T extends object>(reports: readonly T[]): T {
  if (reports.length === 0) throw new Error('no reports to merge');
  const out: Record<string, unknown> = {};
  for (const r of reports) {
    for (const [k, v] of Object.entries(r as Record<string, unknown>)) {
      const prev = out[k];
      if (typeof v === 'number') out[k] = (typeof prev === 'number' ? prev : 0) + v;
      else if (v && typeof v === 'object' && !Array.isArray(v)) {
        out[k] =
          prev && typeof prev === 'object'
            ? sumReports([prev as Record<string, unknown>, v as Record<string, unknown>])
            : { ...v };
      } else if (!(k in out)) out[k] = v;
    }
  }
  return out as T;
}

/** The UTC day (midnight) a cycle learns for: asOf when given, else the run's start. */
export function learningDay(asOf: string | undefined, startTime: Date): Date {
  const d = asOf ? new Date(asOf) : startTime;
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
}

const DAY_MS = 86_400_000;

/**
 * What a cycle for `day` learns from (spec §8): the facts of trades closed by the end of the day, or
 * by the run's start while the day is still going. `past`: the day was over when the run started (a
 * backfill, or `--as-of` an earlier day), so it learns in scratch tables; `future`: refused.
 */
export function cycleCutoff(day: Date, startTime: Date): { cutoff: Date; past: boolean; future: boolean } {
  const endOfDay = new Date(day.getTime() + DAY_MS - 1);
  return {
    cutoff: endOfDay < startTime ? endOfDay : startTime,
    past: endOfDay < startTime,
    future: day.getTime() > startTime.getTime(),
  };
}
