// One error shape for every failure the API reports: {"error": {"code", "message"}}.
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    /** Extra response headers, e.g. Retry-After on a 429. */
    readonly headers: Readonly<Record<string, string>> = {},
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
    void reply.headers(err.headers).status(err.statusCode).send({ error: { code: err.code, message: err.message } });
    return;
  }
  if (err.validation) {
    void reply.status(400).send({ error: { code: 'invalid_request', message: err.message } });
    return;
  }
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    // Fastify's router errors put the raw path in their message: never echo it.
    if (err.code === 'FST_ERR_BAD_URL') {
      void reply.status(400).send({ error: { code: 'bad_url', message: 'the request path is not valid percent-encoded UTF-8' } });
      return;
    }
    if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
      void reply.status(414).send({ error: { code: 'uri_too_long', message: 'a path segment is longer than the router accepts (100 characters)' } });
      return;
    }
    const code = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'body_too_large'
      : err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'unsupported_media_type'
      : err.code?.startsWith('FST_ERR_CTP') ? 'invalid_body' : 'bad_request';
    void reply.status(status).send({ error: { code, message: err.message } });
    return;
  }
  request.log.error({ err }, 'unhandled error');
  void reply.status(500).send({ error: { code: 'internal', message: 'internal error; see the service log' } });
}

/** Status → the body of a failure Node's HTTP parser reports before Fastify sees a request. */
const CLIENT_ERRORS: Readonly<Record<string, { status: number; code: string; message: string }>> = {
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, code: 'request_timeout', message: 'the request was not received in time' },
  HPE_HEADER_OVERFLOW: { status: 431, code: 'headers_too_large', message: 'the request line and headers exceed 16 KiB' },
};

/**
 * Fastify's clientErrorHandler: a malformed request (bad request line, headers too large,
 * timeout) gets the same JSON error shape as everything else, the API's security headers, and
 * the connection is closed. Nothing from the request is echoed.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const e = CLIENT_ERRORS[err.code ?? ''] ?? { status: 400, code: 'bad_request', message: 'the request is not valid HTTP/1.1' };
  const body = JSON.stringify({ error: { code: e.code, message: e.message } });
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(
    `HTTP/1.1 ${e.status} ${STATUS_TEXT[e.status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`
      + `X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
  );
}

const STATUS_TEXT: Readonly<Record<number, string>> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };
