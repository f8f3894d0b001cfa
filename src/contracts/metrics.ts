/**
 * The business metrics the workflows record through the SDK's metric meter, exported by the
 * worker's Prometheus endpoint (src/temporal/telemetry.ts) next to the SDK's own. Names, units and
 * tags are a contract for dashboards and alerts. Deterministic (imported by workflow code).
 *
 * Signed values (ΔR, a verdict) are two series by the tag `sign`: `positive` = max(x, 0) and
 * `negative` = max(−x, 0), both written each time — the value is positive − negative (the SDK's gauges
 * take no negative value).
 */
export const METRICS = {
  tradesAggregated: { name: 'pm_trades_aggregated', unit: 'trades', help: 'trades taken into facts, by path' },
  strandsQuarantined: { name: 'pm_strands_quarantined', unit: 'strands', help: 'position_closed strands quarantined' },
  factsIngested: { name: 'pm_facts_ingested', unit: 'facts', help: 'per-action facts written' },
  eligibleRowsWritten: {
    name: 'pm_eligible_rows_written',
    unit: 'rows',
    help: 'pattern_scope_stats rows inserted or changed',
  },
  lessons: { name: 'pm_lessons', unit: 'lessons', help: 'lessons of the module after a cycle, by status' },
  overridesWritten: { name: 'pm_overrides_written', unit: 'overrides', help: 'overrides in a config version, by list' },
  versionChanges: {
    name: 'pm_config_version_changes',
    unit: 'overrides',
    help: 'overrides added, removed, changed by a config version against the previous one',
  },
  scorecardUplift: {
    name: 'pm_learning_scorecard_uplift',
    unit: 'R',
    help: "realized ΔR of the live overrides on a cycle's trades (out-of-sample scorecard, spec §9.5)",
  },
  challengerDelta: {
    name: 'pm_challenger_delta_eq_r_total',
    unit: 'R',
    help: "a challenger's running total of paired nightly ΔR_eq against the live policy (spec §9.6), by challenger",
  },
  challengerVerdict: {
    name: 'pm_challenger_verdict',
    unit: 'verdict',
    help: "a challenger's always-valid verdict: 1 better, 0 not yet, -1 worse (spec §9.6), by challenger",
  },
  cycleStepDuration: { name: 'pm_cycle_step_duration', unit: 'ms', help: 'learning cycle step duration, by step' },
  positionsOpen: { name: 'pm_positions_open', unit: 'positions', help: 'open positions of a portfolio book' },
  positionsClosed: { name: 'pm_positions_closed', unit: 'positions', help: 'positions closed, by final status' },
} as const;
