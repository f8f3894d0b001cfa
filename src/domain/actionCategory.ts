/** Action categories (spec §2.2): one mapping serves logging, aggregation and runtime. */
export type ActionCategory = 'entry' | 'add' | 'trim' | 'exit';
export const ACTION_CATEGORIES: readonly ActionCategory[] = ['entry', 'add', 'trim', 'exit'] as const;

export class NotLearnableActionError extends Error {
  readonly decisionType: string;
  constructor(decisionType: string, message: string) {
    super(message);
    this.name = 'NotLearnableActionError';
    this.decisionType = decisionType;
  }
}

/** Lower-cased decision type -> category. */
export const DECISION_TYPE_CATEGORY: Readonly<Record<string, ActionCategory>> = Object.freeze({
  entry: 'entry',
  entry_immediate: 'entry',
  e1: 'entry',
  e2: 'entry',
  add: 'add',
  scale_up: 'add',
  trim: 'trim',
  partial_exit: 'trim',
  cut: 'exit',
  emergency_exit: 'exit',
  panic_exit: 'exit',
  exit: 'exit',
});

export const LEARNABLE_DECISION_TYPES: readonly string[] = Object.freeze(Object.keys(DECISION_TYPE_CATEGORY));

/** Category of a decision type, or null when it is not a learnable action (e.g. 'hold'). */
export function tryActionCategory(decisionType: unknown): ActionCategory | null {
  if (typeof decisionType !== 'string') return null;
  const t = decisionType.trim().toLowerCase();
  return Object.prototype.hasOwnProperty.call(DECISION_TYPE_CATEGORY, t) ? DECISION_TYPE_CATEGORY[t] : null;
}

/** Category of a decision type (case-insensitive, trimmed); throws NotLearnableActionError otherwise. */
export function actionCategory(decisionType: string): ActionCategory {
  const c = tryActionCategory(decisionType);
  if (c === null) {
    throw new NotLearnableActionError(
      String(decisionType),
      `decision type ${JSON.stringify(decisionType)} is not a learnable action; ` +
        `accepted: ${LEARNABLE_DECISION_TYPES.join(', ')}`,
    );
  }
  return c;
}
