/**
 * Nudging a scatter's points apart so that each is seen. Lessons of supersets of the same trades share
 * their n and edge exactly, so dozens of them would draw as one dot: each point is moved, in pixels, to
 * the nearest free spot of a hexagonal spiral around its true place, at least `gap` pixels from every
 * point placed before it. Deterministic (the input order decides), pure.
 */

export interface Frame {
  /** Data domain of each axis, mapped linearly onto [0, width] and [0, height]. */
  x: readonly [number, number];
  y: readonly [number, number];
  width: number;
  height: number;
  /** Smallest distance between two points' centres, in pixels. */
  gap: number;
}

/** Rings of the spiral searched before a point is left where it is (the frame is full there). */
const MAX_RINGS = 40;

/** A domain around the values with `pad` of their span on each side (±1 when they are all equal). */
export function paddedDomain(values: readonly number[], pad: number): [number, number] {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const span = hi - lo;
  return span > 0 ? [lo - span * pad, hi + span * pad] : [lo - 1, hi + 1];
}

/** Each point's plotted place, in data units: its own, or the nearest free one around it. */
export function dodge(points: readonly { x: number; y: number }[], f: Frame): { x: number; y: number }[] {
  const sx = f.width / (f.x[1] - f.x[0]);
  const sy = f.height / (f.y[1] - f.y[0]);
  const placed: { px: number; py: number }[] = [];
  const free = (px: number, py: number) =>
    px >= 0 &&
    px <= f.width &&
    py >= 0 &&
    py <= f.height &&
    placed.every((p) => (p.px - px) ** 2 + (p.py - py) ** 2 >= f.gap * f.gap - 1e-9);
  return points.map((p) => {
    const px0 = (p.x - f.x[0]) * sx;
    const py0 = (p.y - f.y[0]) * sy;
    let spot = { px: px0, py: py0 };
    search: for (let ring = 0; ring <= MAX_RINGS; ring++) {
      const around = Math.max(1, 6 * ring);
      for (let k = 0; k < around; k++) {
        const a = (2 * Math.PI * k) / around;
        const px = px0 + ring * f.gap * Math.cos(a);
        const py = py0 + ring * f.gap * Math.sin(a);
        if (free(px, py)) {
          spot = { px, py };
          break search;
        }
      }
    }
    placed.push(spot);
    return { x: f.x[0] + spot.px / sx, y: f.y[0] + spot.py / sy };
  });
}
