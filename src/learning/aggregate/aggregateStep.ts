/**
 * Step 3 called directly (tests, scripts, the bench, the migration): ingest every pending strand into
 * facts, then compute the cube of every group with work — what the learning cycle's aggregate and cube
 * activities do, without Temporal.
 */
import type pg from 'pg';
import { emptyCubeReport, type AggregateReport, type CubeReport } from '../../contracts/learningCycle';
import { sumReports } from '../../domain/cycleReport';
import { computeCubeShard, planCube } from './cube';
import { ingestClosedTrades } from './ingest';

export interface AggregationOptions {
  module: string;
  cycleId: string;
  batchSize?: number;
  /** Cube shards run concurrently (default 1). */
  shards?: number;
  historyTs?: string | null;
}

export async function runAggregation(
  pool: pg.Pool,
  opts: AggregationOptions,
): Promise<{ ingest: AggregateReport; cube: CubeReport }> {
  const ingest = await ingestClosedTrades(pool, {
    module: opts.module,
    cycleId: opts.cycleId,
    batchSize: opts.batchSize,
  });
  const cube = await computeCube(pool, opts);
  return { ingest, cube };
}

/** The cube step alone: every group with pending facts (or flagged), in `shards` concurrent shards. */
export async function computeCube(pool: pg.Pool, opts: Omit<AggregationOptions, 'batchSize'>): Promise<CubeReport> {
  const plan = await planCube(pool, opts.module, opts.shards ?? 1);
  const reports = await Promise.all(
    plan.map((shard) =>
      computeCubeShard(pool, shard, { module: opts.module, cycleId: opts.cycleId, historyTs: opts.historyTs }),
    ),
  );
  return sumReports([emptyCubeReport(), ...reports]);
}
