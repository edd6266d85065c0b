/**
 * The shape every pure core's step answers with (ARCHITECTURE §Code layout):
 * `step(model, input, context) → {model, effects}`, the effects in the order the edge performs
 * them.
 *
 * @module
 */

/** What a core's `step` returns: the next model `M` and its edge's effects `E`. */
export interface CoreStep<M, E> {
  /** The next model. */
  readonly model: M;
  /** What the edge must do, in order. */
  readonly effects: readonly E[];
}
