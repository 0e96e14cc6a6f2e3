// One error shape for every failure the API reports: {"error": {"code", "message"}}.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const errorBodySchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
  },
} as const;

/** The app's single error handler: clear 4xx for bad input, a logged 500 for the rest. */
export function errorHandler(err: FastifyError | HttpError, request: FastifyRequest, reply: FastifyReply): void {
  if (err instanceof HttpError) {
    void reply.status(err.statusCode).send({ error: { code: err.code, message: err.message } });
    return;
  }
  if (err.validation) {
    void reply.status(400).send({ error: { code: 'invalid_request', message: err.message } });
    return;
  }
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const code = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'body_too_large'
      : err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'unsupported_media_type'
      : err.code?.startsWith('FST_ERR_CTP') ? 'invalid_body' : 'bad_request';
    void reply.status(status).send({ error: { code, message: err.message } });
    return;
  }
  request.log.error({ err }, 'unhandled error');
  void reply.status(500).send({ error: { code: 'internal', message: 'internal error; see the service log' } });
}
