import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaRoute } from '../../src/prompts/media-route.js';

const HASH = 'ab'.repeat(32);
const BODY = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(60, 7)]);
let root: string;
let app: FastifyInstance;

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-route-'));
  const media = path.join(root, 'media');
  fs.mkdirSync(media);
  fs.writeFileSync(path.join(media, `${HASH}.wav`), BODY);
  fs.writeFileSync(path.join(root, 'secret.txt'), 'TOP-SECRET-CONTENT');
  fs.writeFileSync(path.join(media, `.${HASH}.123-abcd.8k.wav`), 'half-written');
  fs.mkdirSync(path.join(media, `${'cd'.repeat(32)}.wav`)); // a folder with a valid-looking name
  app = Fastify();
  await app.register(mediaRoute, { dir: media });
  await app.ready();
});
afterAll(async () => {
  await app.close();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('GET /media/:file', () => {
  it('serves an existing content-addressed WAV as audio/wav, cacheable forever', async () => {
    const res = await app.inject({ method: 'GET', url: `/media/${HASH}.wav` });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('audio/wav');
    expect(res.headers['cache-control']).toMatch(/max-age=31536000.*immutable/);
    expect(res.headers['content-length']).toBe(String(BODY.length));
    expect(res.headers.etag).toBe(`"${HASH}"`);
    expect(res.rawPayload.equals(BODY)).toBe(true);
  });

  it('answers a revalidation with 304', async () => {
    const res = await app.inject({ method: 'GET', url: `/media/${HASH}.wav`, headers: { 'if-none-match': `"${HASH}"` } });
    expect(res.statusCode).toBe(304);
    expect(res.rawPayload.length).toBe(0);
  });

  it('answers HEAD like GET, without a body', async () => {
    const res = await app.inject({ method: 'HEAD', url: `/media/${HASH}.wav` });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('audio/wav');
  });

  it.each([
    `/media/${'ef'.repeat(32)}.wav`, // well-formed, not rendered
    `/media/${HASH.toUpperCase()}.wav`,
    `/media/${HASH}.WAV`,
    `/media/${HASH}.mp3`,
    `/media/${HASH.slice(1)}.wav`,
    `/media/${HASH}.wav.bak`,
    `/media/.${HASH}.123-abcd.8k.wav`, // a temp file of a render in progress
    `/media/${'cd'.repeat(32)}.wav`, // not a regular file
    '/media/..%2Fsecret.txt',
    '/media/..%2f..%2fetc%2fpasswd',
    '/media/%2e%2e%2fsecret.txt',
    '/media/../secret.txt',
    '/media/..',
    '/media/',
    `/media/${HASH}.wav%00.txt`,
    `/media/x/${HASH}.wav`,
  ])('404 for %s', async (url) => {
    const res = await app.inject({ method: 'GET', url });
    expect(res.statusCode).toBe(404);
    expect(res.body).not.toContain('TOP-SECRET-CONTENT');
    expect(res.headers['content-type']).not.toBe('audio/wav');
  });
});
