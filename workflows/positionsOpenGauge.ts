import { metricMeter } from '@temporalio/workflow';
import { METRICS } from '../src/contracts/metrics';

/**
 * The pm_positions_open gauge of a book. Set by the portfolio on each open and by a position on its
 * close, each time from the positions table's own count, so the last writer is always a true count.
 */
export const positionsOpenGauge = () =>
  metricMeter.createGauge(METRICS.positionsOpen.name, 'int', METRICS.positionsOpen.unit, METRICS.positionsOpen.help);
