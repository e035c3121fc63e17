/**
 * The contract of one action: what its payload is and what it returns.
 *
 * @example
 * interface Actions {
 *   get_data: { payload: { key: string }; result: { value: number } };
 * }
 * const app = new Daebus<Actions>('data');
 */
export interface ActionSpec {
  payload?: unknown;
  result?: unknown;
}

/**
 * Action names mapped to their contracts. As a constraint it is written
 * `A extends ActionMap<A>`, so that an interface (which has no index
 * signature) qualifies as well as a type alias.
 */
export type ActionMap<A = { [action: string]: ActionSpec }> = { [K in keyof A]: ActionSpec };

/** The map an app without a declared contract uses: any payload, any result. */
// biome-ignore lint/suspicious/noExplicitAny: an untyped app accepts anything, as in the Python original
export type UntypedActions = { [action: string]: { payload: any; result: any } };

/** The payload type of action `K`. */
export type PayloadOf<A extends ActionMap<A>, K extends keyof A> = A[K] extends { payload: infer P }
  ? P
  : unknown;

/** The result type of action `K`. */
export type ResultOf<A extends ActionMap<A>, K extends keyof A> = A[K] extends { result: infer R }
  ? R
  : unknown;
