// Voices loaded from a copy of their file (src/prompts/voice-files.ts): real espeak-ng. The copy
// must give the very same audio as the voice's name, under a path espeak-ng --load takes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runProcess } from '../../src/prompts/renderer.js';
import { MAX_VOICE_ARG, voiceFileOf, voiceFiles } from '../../src/prompts/voice-files.js';

const probe = (args: readonly string[]) => runProcess('espeak-ng', args, { timeoutMs: 20_000 });
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
/** espeak-ng's WAV for a text, the voice chosen by `select`. */
const speak = async (select: string[], text: string) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-voice-'));
  dirs.push(dir);
  const out = path.join(dir, 'out.wav');
  await runProcess('espeak-ng', ['-b', '1', ...select, '-s', '185', '-w', out, '--stdin'], { stdin: text, timeoutMs: 20_000 });
  return fs.readFileSync(out);
};

describe('voice files', () => {
  it('reads the File column of `espeak-ng --voices` for a voice listed once', () => {
    const listing = [
      'Pty Language       Age/Gender VoiceName          File                 Other Languages',
      ' 5  cmn             --/M      Chinese_(Mandarin,_latin_as_English) sit/cmn              (zh-cmn 5)(zh 5)',
      ' 5  cmn-latn-pinyin --/M      Chinese_(Mandarin,_latin_as_Pinyin) sit/cmn-Latn-pinyin  (zh-cmn 5)(zh 5)',
      ' 2  en-us           --/M      English_(America)  gmw/en-US            (en 3)',
      ' 5  xx              --/M      A                  a/xx',
      ' 5  xx              --/M      B                  b/xx',
    ].join('\n');
    expect(voiceFileOf(listing, 'cmn-latn-pinyin')).toBe('sit/cmn-Latn-pinyin');
    expect(voiceFileOf(listing, 'EN-US')).toBe('gmw/en-US');
    expect(voiceFileOf(listing, 'xx')).toBeUndefined(); // two files: which one espeak-ng would take is not ours to guess
    expect(voiceFileOf(listing, 'fr')).toBeUndefined();
  });

  it('loads each default voice from a short lower-case copy that speaks exactly as the name does', async () => {
    // /tmp, not os.tmpdir(): TMPDIR could name a folder with capitals (then the voices go by name).
    const files = voiceFiles(['cmn-latn-pinyin', 'en-us'], probe, '/tmp');
    for (const [voice, text] of [['cmn-latn-pinyin', '城关镇人民路十二号，水管爆裂。'], ['en-us', 'Press 1 to accept the order.']] as const) {
      const args = await files.argsFor(voice);
      expect(args.slice(0, 2)).toEqual(['--load', '-v']);
      const copy = args[2] ?? '';
      expect(copy).toBe(copy.toLowerCase());
      expect(copy.length).toBeLessThanOrEqual(MAX_VOICE_ARG);
      expect((await speak(args, text)).equals(await speak(['-v', voice], text))).toBe(true);
    }
    expect(files.fallbackReason()).toBeUndefined();
  });

  it('goes by name, and says why, where no copy can be used', async () => {
    const upper = fs.mkdtempSync(path.join(os.tmpdir(), 'Liandong-Upper-'));
    dirs.push(upper);
    const files = voiceFiles(['cmn-latn-pinyin'], probe, upper);
    await expect(files.argsFor('cmn-latn-pinyin')).resolves.toEqual(['-v', 'cmn-latn-pinyin']);
    expect(files.fallbackReason()).toMatch(/not a path espeak-ng --load takes/);
    const unknown = voiceFiles(['xx-nonexistent'], probe, '/tmp');
    await expect(unknown.argsFor('xx-nonexistent')).resolves.toEqual(['-v', 'xx-nonexistent']);
    expect(unknown.fallbackReason()).toMatch(/no file of its own for voice "xx-nonexistent"/);
    const noEspeak = voiceFiles(['en-us'], () => Promise.reject(new Error('espeak-ng is not installed')), '/tmp');
    await expect(noEspeak.argsFor('en-us')).resolves.toEqual(['-v', 'en-us']);
    expect(noEspeak.fallbackReason()).toMatch(/espeak-ng is not installed/);
  });
});
