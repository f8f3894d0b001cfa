import { ApplicationFailure, proxyActivities, setCurrentDetails, workflowInfo } from '@temporalio/workflow';
import type { ChallengerActivities } from '../activities/challengerActivities';
import { challengerNightInputSchema, type ChallengerNightInput } from '../src/contracts/challengers';
import type { ChallengerNightSummary } from '../src/contracts/learningCycle';
import { ERROR_TYPES } from '../src/contracts/errors';
import { heavyTaskQueue } from '../src/contracts/temporal';
import { describeZodError } from '../src/contracts/zod';

// A few attempts, not forever: a challenger that keeps failing must let its cycle finish.
const retry = {
  initialInterval: '2 seconds',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  maximumAttempts: 3,
  nonRetryableErrorTypes: [ERROR_TYPES.badConfiguration],
};

const fmt = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;

/**
 * One challenger's night (spec §9.6), a child of the nightly learning cycle: score the night's trades
 * under its overrides beside the champion's, learn the night in shadow (heavy task queue), then its
 * always-valid verdict. Its summary in the Web UI names the verdict and the evidence.
 */
export async function challengerNight(raw: ChallengerNightInput): Promise<ChallengerNightSummary> {
  const parsed = challengerNightInputSchema.safeParse(raw ?? {});
  if (!parsed.success)
    throw ApplicationFailure.nonRetryable(
      `invalid challengerNight input: ${describeZodError(parsed.error)}`,
      ERROR_TYPES.badConfiguration,
    );
  const input = parsed.data;
  const heavy = proxyActivities<ChallengerActivities>({
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: '30 seconds',
    retry,
    taskQueue: heavyTaskQueue(workflowInfo().taskQueue),
  });
  const light = proxyActivities<ChallengerActivities>({ startToCloseTimeout: '5 minutes', retry });
  setCurrentDetails(`**learning** — challenger ${input.name} as of ${input.cutoff}, scoring the night's trades`);
  const night = await heavy.runChallengerNight.executeWithOptions(
    { summary: `score the night's trades, then learn ${input.name} as of ${input.cutoff} in shadow` },
    [input],
  );
  const v = await light.challengerVerdict.executeWithOptions({ summary: `the always-valid verdict of ${input.name}` }, [
    { module: input.module, name: input.name },
  ]);
  const summary: ChallengerNightSummary = {
    name: input.name,
    verdict: v.verdict,
    evidence: v.evidence,
    deltaEqR: night.score?.deltaEqR ?? null,
    totalEqR: v.total,
    nightsReplayed: night.nights,
    failed: null,
  };
  setCurrentDetails(
    `**${v.verdict}** — ${v.evidence}; tonight ${night.score ? `ΔR_eq ${fmt(night.score.deltaEqR)} R on ${night.score.trades} trades` : 'nothing scored (its first version)'}` +
      `, ${night.nights} night(s) replayed, ${night.strengthOverrides} override(s)`,
  );
  return summary;
}
