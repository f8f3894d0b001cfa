/**
 * The decay curve a lesson's half-life describes, over the edge-history points it was fitted on (the
 * last HALF_LIFE_MAX_POINTS, spec §5.3): |edge|(t) = A · 0.5^((t − t0) / half-life). The slope is the
 * stored half-life's; A is the least-squares intercept of ln|edge| given that slope, so the curve
 * passes through the points as the spec's regression did. Signed like the latest point.
 */
import { HALF_LIFE_MAX_POINTS } from '../domain/lessons';

export const FIT_SAMPLES = 16;

export function halfLifeFit(
  points: readonly { ts: string; edge: number }[],
  halfLifeHours: number,
): { ts: string; edge: number }[] {
  const valid = points
    .map((p) => ({ t: Date.parse(p.ts), e: p.edge }))
    .filter((p) => Number.isFinite(p.t) && Number.isFinite(p.e))
    .sort((a, b) => a.t - b.t)
    .slice(-HALF_LIFE_MAX_POINTS);
  if (valid.length < 2 || !(halfLifeHours > 0)) return [];
  const t0 = valid[0].t;
  const t1 = valid[valid.length - 1].t;
  if (!(t1 > t0)) return [];
  const b = -Math.LN2 / halfLifeHours;
  const hours = (t: number) => (t - t0) / 3_600_000;
  const lnA = valid.reduce((s, p) => s + Math.log(Math.max(Math.abs(p.e), 0.001)) - b * hours(p.t), 0) / valid.length;
  const sign = valid[valid.length - 1].e < 0 ? -1 : 1;
  return Array.from({ length: FIT_SAMPLES }, (_, i) => {
    const t = t0 + ((t1 - t0) * i) / (FIT_SAMPLES - 1);
    return { ts: new Date(t).toISOString(), edge: sign * Math.exp(lnA + b * hours(t)) };
  });
}
