// Validates every incoming message against the contract, then runs the method's handler.
// A malformed message gets an error reply and reaches no handler.
import { z } from 'zod';

import type { Api, Method, Params, ReplyMessage, Result } from '../../contract/index.js';
import { AppError, toErrorInfo } from './app-error.js';
import { paramSchemas } from './schemas/index.js';

export interface CallContext {
  /** Which transport the call came through, for logs. */
  transport: 'electron' | 'websocket' | 'cli' | 'test';
}

export type Handler<M extends Method> = (params: Params<M>, ctx: CallContext) => Promise<Result<M>>;
export type Handlers = { [M in Method]: Handler<M> };

const envelope = z
  .object({
    type: z.literal('request'),
    id: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    method: z.string().min(1).max(128),
    params: z.unknown(),
  })
  .strict();

function isMethod(name: string): name is Method {
  return Object.prototype.hasOwnProperty.call(paramSchemas, name);
}

function describeIssue(issue: z.core.$ZodIssue, prefix: string): { message: string; path: string } {
  const path = [prefix, ...issue.path.map(String)].join('.');
  return { message: `${path}: ${issue.message}`, path };
}

export class Router {
  constructor(private readonly handlers: Handlers) {}

  /** Parses one raw message (already JSON-decoded) and returns the reply to send. Never throws. */
  async dispatch(raw: unknown, ctx: CallContext): Promise<ReplyMessage> {
    const env = envelope.safeParse(raw);
    if (!env.success) {
      const id = typeof raw === 'object' && raw !== null && 'id' in raw && typeof raw.id === 'number' ? raw.id : null;
      const first = env.error.issues[0];
      const detail = first ? describeIssue(first, 'message') : { message: 'malformed message', path: 'message' };
      return {
        type: 'reply',
        id: id !== null && Number.isInteger(id) && id >= 0 ? id : null,
        ok: false,
        error: { code: 'bad_request', ...detail },
      };
    }
    const { id, method, params } = env.data;
    if (!isMethod(method)) {
      return { type: 'reply', id, ok: false, error: { code: 'unknown_method', message: `unknown method '${method}'` } };
    }
    return this.call(id, method, params, ctx);
  }

  private async call<M extends Method>(
    id: number,
    method: M,
    rawParams: unknown,
    ctx: CallContext,
  ): Promise<ReplyMessage> {
    const schema = paramSchemas[method] as z.ZodType<Params<M>>;
    const parsed = schema.safeParse(rawParams);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      const detail = first ? describeIssue(first, 'params') : { message: 'invalid params', path: 'params' };
      return { type: 'reply', id, ok: false, error: { code: 'bad_request', ...detail } };
    }
    try {
      const handler = this.handlers[method] as Handler<M>;
      const result = await handler(parsed.data, ctx);
      return { type: 'reply', id, ok: true, result };
    } catch (err) {
      return { type: 'reply', id, ok: false, error: toErrorInfo(err) };
    }
  }

  /** In-process call with the same validation (CLI, tests). Throws AppError on failure. */
  async invoke<M extends Method>(method: M, params: Api[M]['params'], ctx: CallContext): Promise<Result<M>> {
    const reply = await this.call(0, method, params, ctx);
    if (!reply.ok) throw new AppError(reply.error.code, reply.error.message, reply.error.path);
    return reply.result as Result<M>;
  }
}
