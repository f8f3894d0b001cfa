/**
 * Error types shared by workflows, activities, clients and the CLI. A Temporal error type is a
 * string that retry policies (`nonRetryableErrorTypes`) and callers match on, so each is spelled
 * once here, and each has exactly one error class whose `type` it is.
 * Imported by workflow code, so it must stay deterministic (no I/O, no Node APIs).
 */

/** Temporal ApplicationFailure types: part of the public contract (callers match on them). */
export const ERROR_TYPES = {
  /** Bad input or configuration: a retry cannot fix it, so it fails at once. */
  badConfiguration: 'BadConfiguration',
  /** A different trade is already open under the position id. */
  positionConflict: 'PositionConflict',
  /** A close the position refuses: malformed, or before its entry (the closePosition update's validator). */
  invalidClose: 'InvalidClose',
} as const;
export type ErrorType = (typeof ERROR_TYPES)[keyof typeof ERROR_TYPES];

/** Thrown below the activity layer; the activity turns it into a non-retryable 'BadConfiguration'. */
export class BadConfigurationError extends Error {
  readonly type = ERROR_TYPES.badConfiguration;
  override name = 'BadConfigurationError';
}

/** An open refused by the portfolio (its 'PositionConflict' failure), as the client reports it. */
export class PositionConflictError extends Error {
  readonly type = ERROR_TYPES.positionConflict;
  override name = 'PositionConflictError';
}

/** Input refused at a client boundary (CLI, library API) before it reaches Temporal. */
export class InvalidInputError extends Error {
  override name = 'InvalidInputError';
}
