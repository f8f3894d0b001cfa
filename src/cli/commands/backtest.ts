/**
 * Spec §9.3-§9.4 from the command line: `pmctl backtest` (the walk-forward backtest of a policy as a
 * Temporal workflow; show and list the stored ones) and `pmctl demo market` (a synthetic market with
 * its truth).
 */
import type { MarketOptions } from '../../backtest/market';
import type { Command } from 'commander';
import { z } from 'zod';
import { moduleIdSchema } from '../../contracts/learningCycle';
import { InvalidInputError } from '../../contracts/errors';
import { parseOrThrow } from '../../contracts/zod';
import type { BacktestStatus } from '../../contracts/backtest';
import type { StoredBacktest } from '../../backtest/store';
import { CliError, emit, num, workflowUiUrl } from '../output';
import type { CliContext } from '../context';

const module = (v: string) => parseOrThrow(moduleIdSchema, v, '--module');
const today = () => new Date().toISOString().slice(0, 10);
const f = (x: number | null | undefined, d = 2) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '-');
const signed = (x: number, d = 2) => (x >= 0 ? '+' : '') + x.toFixed(d);
const pct = (x: number | null | undefined) => (typeof x === 'number' ? `${(100 * x).toFixed(1)}%` : '-');

/**
 * A null control's p, said to be the floor when it is: with K nulls p is at least 1/(K + 1) (the real
 * run ranked above every null), so 0.048 at K = 20 is the strongest evidence K can give.
 */
export function nullPText(p: number | null | undefined, k: number): string {
  if (typeof p !== 'number') return '-';
  return Math.abs(p - 1 / (k + 1)) < 1e-12
    ? `${p.toFixed(3)} (the smallest possible with K = ${k}: 1/${k + 1})`
    : p.toFixed(3);
}

/** How many overrides a summary lists: the first few, with a heading that says so when there are more. */
export const TOP_OVERRIDES = 5;
export function overridesHeading(total: number, shown = Math.min(total, TOP_OVERRIDES)): string {
  if (total === 0) return 'overrides: none';
  return shown < total ? `top ${shown} of ${total} overrides (all of them: --json):` : `overrides (${total}):`;
}

/** Exit code of a range with no trades: not a failure, but a script can tell it apart. */
export const EXIT_NO_TRADES = 0;

/** The one JSON object of a stored backtest (`pmctl backtest --json`, `backtest show --json`). */
export function backtestJson(b: StoredBacktest, extra: { workflowId?: string; reused?: boolean } = {}) {
  const s = b.summary;
  return {
    backtestId: b.id,
    ...(extra.workflowId ? { workflowId: extra.workflowId } : {}),
    module: b.module,
    policy: b.policy.name,
    policyConstants: b.policy,
    from: b.from,
    to: b.to,
    nullK: b.nullK,
    seed: b.seed,
    dataHash: b.dataHash,
    trades: s.trades,
    r0: s.r0,
    rP: s.rP,
    upliftR: s.upliftR,
    upliftPct: s.upliftPct,
    ci95: s.ci95,
    nullP: s.nullP,
    nullUpliftR: s.nullUpliftR,
    nullLiveOverridesMean: s.nullLiveOverridesMean,
    liveOverridesMean: s.liveOverridesMean,
    daysWithoutOverrides: s.daysWithoutOverrides,
    oracleUpliftR: s.oracleUpliftR,
    oracleCapture: s.oracleCapture,
    // Equal exposure (spec §9.3); null fields on a backtest stored before it existed.
    upliftEqR: s.upliftEqR ?? null,
    upliftEqPct: s.upliftEqPct ?? null,
    ci95Eq: s.ci95Eq ?? null,
    nullPEq: s.nullPEq ?? null,
    oracleUpliftEqR: s.oracleUpliftEqR ?? null,
    oracleCaptureEq: s.oracleCaptureEq ?? null,
    risk: s.risk ?? null,
    addsWithoutLeg: s.addsWithoutLeg ?? 0,
    wrongWayShare: s.wrongWayShare,
    perDay: s.perDay,
    perOverride: s.perOverride.map((o) => ({
      ...o,
      explain: `pmctl explain override --module ${b.module} '${o.pattern_key}/${o.action_category}/${JSON.stringify(o.scope)}'`,
    })),
    reused: extra.reused ?? false,
    createdAt: b.createdAt,
  };
}

function printBacktest(b: StoredBacktest, head: string[]): void {
  const s = b.summary;
  const out = [
    ...head,
    `backtest ${b.id}: policy ${b.policy.name}, module ${b.module}, ${b.from} → ${b.to}, K ${b.nullK}, seed ${b.seed}, data ${b.dataHash}`,
    `trades ${s.trades}: ΔR ${signed(s.upliftR)} R, CI95 [${f(s.ci95[0])}, ${f(s.ci95[1])}], ${signed(s.upliftPct)}% of Σ|rr| (R0 ${f(s.r0)} → R_P ${f(s.rP)})`,
    `null control: p ${nullPText(s.nullP, s.nullK)} over K ${s.nullK}; live overrides under the null ${f(s.nullLiveOverridesMean)} a day`,
    ...(typeof s.upliftEqR === 'number'
      ? [
          `at equal exposure (each day's sizes rescaled to a mean of 1): ΔR_eq ${signed(s.upliftEqR)} R, ` +
            `CI95 [${f(s.ci95Eq[0])}, ${f(s.ci95Eq[1])}], ${signed(s.upliftEqPct)}% of Σ|rr|, null p ${nullPText(s.nullPEq, s.nullK)}` +
            (s.oracleUpliftEqR === null
              ? ''
              : `; oracle ΔR_eq ${signed(s.oracleUpliftEqR)} R, capture ${pct(s.oracleCaptureEq)}`),
        ]
      : ['at equal exposure: not measured (stored before it existed)']),
    `oracle capture ${pct(s.oracleCapture)}${s.oracleUpliftR === null ? ' (truth unknown)' : ` (oracle ΔR ${signed(s.oracleUpliftR)} R)`}` +
      `; wrong-way sizing ${pct(s.wrongWayShare)}`,
    ...(s.risk
      ? [
          `risk of daily R: Sharpe (per day) book ${f(s.risk.sharpe.book)}, with the policy ${f(s.risk.sharpe.policy)}, ` +
            `at equal exposure ${f(s.risk.sharpe.policyEq)}; max drawdown book ${f(s.risk.maxDrawdownR.book)} R, ` +
            `with the policy ${f(s.risk.maxDrawdownR.policy)} R, at equal exposure ${f(s.risk.maxDrawdownR.policyEq)} R`,
        ]
      : []),
    ...(s.addsWithoutLeg ? [`${s.addsWithoutLeg} add(s) without a fill price: counted with m = 1`] : []),
    `live overrides ${f(s.liveOverridesMean)} a day; days without any ${pct(s.daysWithoutOverrides)}`,
    overridesHeading(s.perOverride.length),
    ...s.perOverride
      .slice(0, TOP_OVERRIDES)
      .map(
        (o) =>
          `  ${signed(o.upliftR).padStart(8)} R  size×${f(o.sizeMult, 3)}  ${o.action_category} ${JSON.stringify(o.scope)}  ` +
          `${o.trades} trades, ${o.daysLive} days  lesson ${o.lesson}`,
      ),
  ];
  process.stdout.write(out.join('\n') + '\n');
}

export function registerBacktestCommands(program: Command, ctx: CliContext): void {
  const bt = program
    .command('backtest')
    .description(
      'walk-forward backtest of a learning policy (spec §9.3) as a Temporal workflow; show / list stored ones',
    )
    .option('--from <day>', 'first day YYYY-MM-DD (UTC)')
    .option('--to <day>', 'last day YYYY-MM-DD (UTC), not in the future')
    .option('--policy <name>', "policy: v5, evidence, or live (the module's live policy with its constants)")
    // No default here: `backtest list --module X` reaches this option too, and a default would narrow it.
    .option('--module <module>', 'module (default pm)', module)
    .option('--null <K>', 'null permutations (0..1000)', num, 20)
    .option('--seed <S>', 'seed of the permutations and the bootstrap', num, 1)
    .option('--no-wait', 'start it and print its workflow id')
    .option('--json', 'one machine-readable object')
    .action(
      async (o: {
        from?: string;
        to?: string;
        policy?: string;
        module?: string;
        null: number;
        seed: number;
        wait: boolean;
        json?: boolean;
      }) => {
        const mod = o.module ?? 'pm';
        const { backtestRequestProblems, checkBacktestRequest, runBacktest, waitForBacktest, LIVE_POLICY } =
          await import('../../backtest/client');
        const req = { module: mod, from: o.from, to: o.to, policy: o.policy, nullK: o.null, seed: o.seed };
        // Every problem at once, the values given before the options missing; nothing read or started yet.
        const problems = backtestRequestProblems(req, today(), { allowLive: true });
        if (problems.length) throw new CliError(`invalid backtest: ${problems.join('; ')}`);
        let policy: string | import('../../domain/policy').Policy = o.policy!;
        if (policy === LIVE_POLICY)
          policy = (await (await import('../../learning/policy/store')).livePolicy(await ctx.database(), mod)).policy;
        const key = checkBacktestRequest({ ...req, from: o.from!, to: o.to!, policy }, today());
        const client = await ctx.temporal();
        const started = await runBacktest(client, key, { taskQueue: ctx.settings.taskQueue, wait: false });
        const ui = workflowUiUrl(ctx.settings.namespace, started.workflowId);
        if (!o.wait) return emit({ workflowId: started.workflowId, joined: started.joined, ui }, o);
        const { backtestProgressReporter, onInterrupt } = await import('../backtestProgress');
        const reporter = backtestProgressReporter();
        const release = onInterrupt(started.workflowId, reporter);
        if (!o.json) reporter.started(started.workflowId, started.joined);
        let st: BacktestStatus;
        try {
          st = await waitForBacktest(
            client,
            started.workflowId,
            o.json ? {} : { onProgress: (p) => reporter.update(p) },
          );
        } finally {
          release();
          reporter.end();
        }
        const r = { ...started, status: st };
        if (st.step === 'no_trades') {
          if (o.json)
            emit(
              {
                noTrades: true,
                trades: 0,
                module: key.module,
                policy: key.policy.name,
                from: key.from,
                to: key.to,
                message: st.message,
                workflowId: r.workflowId,
              },
              o,
            );
          else process.stdout.write(`${st.message}\nUI: ${ui}\n`);
          process.exitCode = EXIT_NO_TRADES;
          return;
        }
        const { getBacktest } = await import('../../backtest/store');
        const stored = await getBacktest(await ctx.database(), st.backtestId!);
        const reused = st.result?.reused ?? false;
        if (o.json) return emit(backtestJson(stored, { workflowId: r.workflowId, reused }), o);
        printBacktest(stored, [`UI: ${ui}${reused ? '  (identical backtest already stored: its numbers)' : ''}`]);
      },
    );
  bt.command('show')
    .description('one stored backtest: headline, per day, per override with its trades')
    .argument('<id>')
    .option('--json', 'one machine-readable object')
    // The parent's own --json / --module are parsed first: read them with the globals.
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<{ json?: boolean }>();
      const { getBacktest } = await import('../../backtest/store');
      const b = await getBacktest(await ctx.database(), id);
      if (o.json) return emit(backtestJson(b, { reused: true }), o);
      printBacktest(b, []);
      process.stdout.write('per day (day trades ΔR live-overrides):\n');
      for (const d of b.summary.perDay)
        process.stdout.write(
          `  ${d.day} ${String(d.trades).padStart(5)} ${signed(d.upliftR).padStart(9)} ${d.liveOverrides}\n`,
        );
    });
  bt.command('status')
    .description("a backtest workflow's progress (the status query: step, runs done of K + 1) or its end state")
    .argument('<workflowId>', 'backtest-… (printed by pmctl backtest --no-wait)')
    .option('--json', 'machine-readable output')
    .action(async (workflowId: string, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<{ json?: boolean }>();
      const { backtestProgress, backtestStatus } = await import('../../backtest/client');
      const client = await ctx.temporal();
      const live = await backtestProgress(client, workflowId);
      const st = live?.status ?? (await backtestStatus(client, workflowId));
      if (o.json) return emit(st, o);
      const ui = `UI: ${workflowUiUrl(ctx.settings.namespace, st.workflowId)}`;
      if (live) {
        const { progressLine } = await import('../../backtest/progress');
        return void process.stdout.write(`${st.workflowId}: running, ${progressLine(live, Date.now())}\n${ui}\n`);
      }
      const next = st.step === 'done' && st.backtestId ? `\nits result: pmctl backtest show ${st.backtestId}` : '';
      process.stdout.write(
        `${st.workflowId}: ${st.step}, ${st.runsDone} of ${st.runsTotal} runs done` +
          `${st.backtestId ? `, backtest ${st.backtestId}` : ''}${st.message ? `\n${st.message}` : ''}${next}\n${ui}\n`,
      );
    });
  bt.command('list')
    .description('stored backtests of every module, newest first')
    .option('--module <module>', 'only this module', module)
    .option(
      '--limit <n>',
      'at most this many',
      (v) => parseOrThrow(z.coerce.number().int().min(1).max(10_000), v, '--limit'),
      50,
    )
    .option('--json', 'machine-readable output')
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<{ module?: string; limit: number; json?: boolean }>();
      const { listBacktests, backtestModules } = await import('../../backtest/store');
      const db = await ctx.database();
      const list = await listBacktests(db, o);
      if (o.json) return emit(list, o);
      if (list.length === 0) {
        const modules = o.module ? await backtestModules(db) : [];
        const where = o.module ? ` of module ${o.module}` : '';
        const others = modules.length
          ? `; modules with backtests: ${modules.map((m) => `${m.module} (${m.backtests})`).join(', ')} ` +
            `(pmctl backtest list lists them all)`
          : ': run pmctl backtest';
        return void process.stdout.write(`no backtests${where} stored yet${others}\n`);
      }
      const width = Math.max(6, ...list.map((b) => b.module.length));
      const rows = list.map(
        (b) =>
          `${b.id}  ${b.module.padEnd(width)}  ${b.policy.padEnd(8)}  ${b.from} → ${b.to}  K ${b.nullK} seed ${b.seed}  ` +
          `trades ${b.trades}  ΔR ${signed(b.upliftR)} (${signed(b.upliftPct)}%)  p ${f(b.nullP, 3)}  ` +
          `oracle ${pct(b.oracleCapture)}  ${b.createdAt}`,
      );
      const header = `${'id'.padEnd(list[0].id.length)}  ${'module'.padEnd(width)}  policy`;
      process.stdout.write([header, ...rows].join('\n') + '\n');
    });

  const demo = program.command('demo').description('synthetic data for demos, tests and benchmarks');
  demo
    .command('market')
    .description(
      'write a synthetic market (families: simple, realistic, real-price) with planted winner/loser scopes and its truth (spec §9.4)',
    )
    .requiredOption('--seed <S>', 'seed (one market per module and seed)', num)
    .option('--family <name>', 'simple (default), realistic or real-price')
    .option('--days <N>', 'days of trading (required for simple; default 60 for realistic and real-price)', num)
    .option('--trades-per-day <T>', 'trades a day (required for simple; default 200 for realistic)', num)
    .option('--module <module>', 'module', module, 'pm')
    .option('--start-day <day>', 'first day YYYY-MM-DD (default 2026-01-01)')
    .option('--effect <E>', 'simple: planted mean shift in R (winner +E, loser −E; default 1.5)', num)
    .option('--effect-sd <X>', 'realistic: planted effect in sd of the book R/R (default 0.5)', num)
    .option('--winner <k=v,...>', 'simple, realistic: the planted winner scope (default macro_phase=Dip,bucket=micro)')
    .option('--loser <k=v,...>', 'simple, realistic: the planted loser scope (default timeframe=1h,A_mode=aggressive)')
    .option('--share <X>', 'simple, realistic: share of trades in each planted scope (default 0.05)', num)
    .option('--fade-day <I>', 'simple, realistic: day index from which the winner edge fades', num)
    .option('--fade-to-sd <X>', 'realistic: what the winner fades to from --fade-day, in sd (default 0: gone)', num)
    .option('--book-mean <M>', 'realistic: expected R/R of an unplanted trade (default 0.9)', num)
    .option('--null', 'simple, realistic: a null market (no planted scope)')
    .option('--planted', 'real-price: the planted variant (two scopes shifted by ±shift-sd; default unplanted)')
    .option('--shift-sd <X>', 'real-price: the planted shift in sd of the book R/R (default 0.5)', num)
    .option('--via <how>', `facts (direct, default) or strands (the public path, simple family, ≤ 500 trades)`)
    .option('--json', 'machine-readable output')
    .action(async (o: MarketOptions & { via?: string; json?: boolean }) => {
      const { marketPlanOf, generatedMarketOf, marketLastDay, writeMarketFacts, STRANDS_MAX_TRADES } =
        await import('../../backtest/market');
      const { via: viaOpt, json, ...opts } = o;
      const plan = marketPlanOf(opts);
      if (viaOpt !== undefined && viaOpt !== 'facts' && viaOpt !== 'strands')
        throw new InvalidInputError(`--via: ${JSON.stringify(viaOpt)} is not facts or strands`);
      if (viaOpt === 'strands' && plan.family !== 'simple')
        throw new InvalidInputError(
          `--via: strands is the simple family's public path; a ${plan.family} market is written as facts (drop --via)`,
        );
      const startDay = plan.family === 'real-price' ? plan.options.startDay : plan.spec.startDay;
      const days = plan.family === 'real-price' ? plan.options.days : plan.spec.days;
      const last = marketLastDay({ startDay, days });
      if (last > today())
        throw new InvalidInputError(
          `--days: the market would end on ${last}, after today ${today()} (move --start-day back)`,
        );
      let r;
      if (plan.family === 'simple') {
        const total = plan.spec.days * plan.spec.tradesPerDay;
        const via = viaOpt ?? (total > STRANDS_MAX_TRADES ? 'facts' : 'strands');
        if (via === 'strands') {
          const { writeMarketStrands } = await import('../../backtest/marketStrands');
          const client = await ctx.temporal();
          r = await writeMarketStrands(
            { client, pool: await ctx.database(), taskQueue: ctx.settings.taskQueue },
            opts.module,
            plan.spec,
            (done, n) => {
              if (!json && (done % 50 === 0 || done === n))
                process.stderr.write(`[market] ${done}/${n} trades closed\n`);
            },
          );
        }
      }
      if (!r) {
        // Generated (real prices: the fixture read, or refused) before the database is touched.
        const market = generatedMarketOf(plan);
        r = await writeMarketFacts(await ctx.database(), opts.module, market);
      }
      if (json) return emit(r, { json });
      const rr = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(2)} R`;
      const sd = (x: number | null) => (x === null ? '' : ` (${x.toFixed(2)} sd)`);
      process.stdout.write(
        [
          `market ${r.marketId} (${r.family} family): ${r.trades} trades (${r.facts} facts) in module ${r.module}, ${r.firstDay} → ${r.lastDay}, via ${r.via}`,
          `  book R/R: mean ${f(r.book.rrMean)}, sd ${f(r.book.rrSd)}` +
            (r.modelBook
              ? ` (unplanted model: mean ${f(r.modelBook.mean)}, sd ${f(r.modelBook.sd)}, the unit of --effect-sd)`
              : ''),
          ...r.planted.map(
            (p) =>
              `  ${p.kind} ${JSON.stringify(p.scope)} effect ${rr(p.kind === 'loser' ? -p.effect : p.effect)}${sd(p.effectSd)}, ` +
              `share ${+p.share.toFixed(4)}, ${p.trades} trades` +
              (p.fadeDay === null
                ? ''
                : !p.fadeTo
                  ? `, gone from day ${p.fadeDay}`
                  : `, fades from day ${p.fadeDay} to ${rr(p.fadeTo)}${r.modelBook ? sd(p.fadeTo / r.modelBook.sd) : ''}`),
          ),
          ...(r.planted.length
            ? []
            : [
                r.family === 'real-price'
                  ? '  unplanted: real prices, no planted scope (the truth is unknown: the null control judges it)'
                  : '  null market: no planted scope',
              ]),
          ...(r.via === 'strands' ? ['the facts appear when a learning cycle ingests them: pmctl cycle run'] : []),
          `next: pmctl backtest --module ${r.module} --from ${r.firstDay} --to ${r.lastDay} --policy evidence --null 20`,
        ].join('\n') + '\n',
      );
    });
}
