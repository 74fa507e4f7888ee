import type { z } from 'zod';

/** One request/response channel: the payload schema and the result schema. */
export interface Channel<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  readonly input: I;
  readonly output: O;
}

/** Declares a request/response channel. */
export function channel<I extends z.ZodType, O extends z.ZodType>(input: I, output: O): Channel<I, O> {
  return { input, output };
}

/** One main-to-renderer event channel and its payload schema. */
export interface EventChannel<P extends z.ZodType = z.ZodType> {
  readonly payload: P;
}

/** Declares an event channel. */
export function eventChannel<P extends z.ZodType>(payload: P): EventChannel<P> {
  return { payload };
}

/** An area: a named group of channels. */
export type Area = Record<string, Channel>;

/** The whole contract: areas by name. */
export type Contract = Record<string, Area>;

/** The payload type a caller passes (before defaults are applied). */
export type InputOf<C> = C extends Channel<infer I, z.ZodType> ? z.input<I> : never;
/** The payload type a handler receives (after parsing). */
export type ParsedInputOf<C> = C extends Channel<infer I, z.ZodType> ? z.output<I> : never;
/** The value type a channel returns. */
export type OutputOf<C> = C extends Channel<z.ZodType, infer O> ? z.output<O> : never;

/** The wire name of a channel: `area.method`. */
export function channelName(area: string, method: string): string {
  return `${area}.${method}`;
}

/** Every wire name of a contract, in declaration order. */
export function channelNames(contract: Contract): string[] {
  return Object.entries(contract).flatMap(([area, methods]) => Object.keys(methods).map((m) => channelName(area, m)));
}
