import type { z } from 'zod';

/** One zod schema per method's params; the type parameter ties each schema to the contract's params type. */
export type ParamSchemas<A> = {
  [M in keyof A]: z.ZodType<A[M] extends { params: infer P } ? P : never>;
};
