/**
 * Which of a sidebar row's actions are buttons and which go to its "..." menu (pure: node
 * --test covers it). A row keeps to one line of buttons: the lifecycle actions its state
 * allows but the rare ones, and the other plugins' actions but those added with
 * `inline: false` (Edit as cell, Clone as cell, Timeline...). Everything stays in the row's
 * context menu too.
 */

/** Lifecycle actions shown in the "..." menu rather than as buttons: rarely wanted. */
export const OVERFLOW_ACTIONS: ReadonlySet<string> = new Set(['restart', 'kill']);

/** A row's actions split between its buttons (`inline`) and its "..." menu (`more`). */
export interface IRowSplit<T> {
  inline: T[];
  more: T[];
}

/** Split `lifecycle` (the actions the state allows) and `extras` (the visible row actions),
 * keeping their order. */
export function splitRowActions<A extends string, T extends { inline?: boolean }>(
  lifecycle: readonly A[],
  extras: readonly T[],
  overflow: ReadonlySet<string> = OVERFLOW_ACTIONS
): { lifecycle: IRowSplit<A>; extras: IRowSplit<T> } {
  return {
    lifecycle: {
      inline: lifecycle.filter(a => !overflow.has(a)),
      more: lifecycle.filter(a => overflow.has(a))
    },
    extras: {
      inline: extras.filter(e => e.inline !== false),
      more: extras.filter(e => e.inline === false)
    }
  };
}
