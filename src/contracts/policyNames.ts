/** The learning policies' names (spec §9.2): part of the backtest's and the config's contract. */
export const POLICY_NAMES = ['v5', 'evidence'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];
