import { metricMeter } from '@temporalio/workflow';
import { METRICS } from '../src/contracts/metrics';

/**
 * The pm_positions_open gauge of a book. Set by the portfolio on each open and by a position on its
 * close, each time to the positions table's count at that moment: the latest write is a recent true
 * count (closes of positions opened before patch close-no-portfolio-signal do not set it).
 */
export const positionsOpenGauge = () =>
  metricMeter.createGauge(METRICS.positionsOpen.name, 'int', METRICS.positionsOpen.unit, METRICS.positionsOpen.help);
