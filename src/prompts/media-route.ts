// GET /media/:file — the rendered prompts, for Asterisk's HTTP media cache (`sound:http://…`).
// Only content-addressed names (64 hex + .wav) are served, so no path can leave the media folder
// and a file never changes once published: it may be cached forever. No auth: Asterisk fetches
// over loopback and the files hold only prompt audio the callee hears anyway.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';

export const MEDIA_FILE_RE = /^[0-9a-f]{64}\.wav$/;

export interface MediaRouteOptions {
  /** Folder holding the rendered WAVs (config.media.dir). */
  readonly dir: string;
}

const paramsSchema = {
  type: 'object',
  properties: { file: { type: 'string', pattern: MEDIA_FILE_RE.source } },
  required: ['file'],
  additionalProperties: false,
} as const;

/** One year in seconds; content-addressed files never change. */
const MAX_AGE_SECONDS = 365 * 24 * 3600;

export const mediaRoute: FastifyPluginAsync<MediaRouteOptions> = (app, options) => {
  const dir = path.resolve(options.dir);
  const notFound = { error: 'not_found' } as const;
  app.get<{ Params: { file: string } }>(
    '/media/:file',
    {
      schema: {
        params: paramsSchema,
        response: {
          200: { description: 'the rendered prompt, 8 kHz WAV, immutable', content: { 'audio/wav': { schema: { type: 'string', format: 'binary' } } } },
          304: { description: 'not modified (If-None-Match)', type: 'null' },
          404: { description: 'no such prompt', type: 'object', required: ['error'], properties: { error: { type: 'string', enum: ['not_found'] } } },
        },
      },
      attachValidation: true,
    },
    async (request, reply) => {
      // A bad name is "no such media", not a client error worth explaining.
      const file = request.params.file;
      if (request.validationError || typeof file !== 'string' || !MEDIA_FILE_RE.test(file)) return reply.code(404).send(notFound);
      const etag = `"${file.slice(0, 64)}"`;
      let handle: fs.FileHandle;
      try {
        handle = await fs.open(path.join(dir, file), 'r');
      } catch {
        return reply.code(404).send(notFound);
      }
      const headers = {
        'content-type': 'audio/wav',
        'cache-control': `public, max-age=${MAX_AGE_SECONDS}, immutable`,
        etag,
      };
      try {
        const stat = await handle.stat();
        if (!stat.isFile()) {
          await handle.close();
          return reply.code(404).send(notFound);
        }
        if (request.headers['if-none-match'] === etag) {
          await handle.close();
          return reply.code(304).headers(headers).send();
        }
        // The stream closes the handle when it ends or is destroyed.
        return reply.code(200).headers({ ...headers, 'content-length': String(stat.size) }).send(handle.createReadStream());
      } catch (err) {
        await handle.close();
        throw err;
      }
    },
  );
  return Promise.resolve();
};
