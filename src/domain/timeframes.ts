const MINUTE = 60_000;
const DURATIONS: Record<string, number> = {
  '1m': MINUTE,
  '15m': 15 * MINUTE,
  '1h': 60 * MINUTE,
  '4h': 240 * MINUTE,
  '1d': 1440 * MINUTE,
};

/** Length of one bar of a timeframe in milliseconds. */
export function barDurationMs(timeframe: string): number {
  const d = DURATIONS[timeframe];
  if (d === undefined)
    throw new Error(`unknown timeframe ${timeframe}; expected one of ${Object.keys(DURATIONS).join(', ')}`);
  return d;
}
