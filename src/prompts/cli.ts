// `liandong prompts list|check`: which prompt ids a site may record, whether each is played from a
// recording or from TTS and how long it lasts; and a check of the recordings folder that exits 1
// when a file would be refused.
import { LANGUAGES, type Config, type Language } from '../config.js';
import { DIGIT_IDS, openPrompts, recordableIds, speechStyleOf, type Prompts } from './index.js';
import { wavSeconds } from './recordings.js';

type Out = (line: string) => void;

const USAGE = `usage: liandong prompts list [--lang zh-CN|en]   every prompt id: recorded or TTS, duration, text
       liandong prompts check                     check the recordings (readable, not silent, not too long); exit 1 on a problem
Recordings: prompts/<lang>/recorded/<id>.wav, or LIANDONG_RECORDINGS_DIR/<lang>/<id>.wav (docs/recording.md)`;

export async function runPromptsCli(args: string[], config: Config, out: Out): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'list' && sub !== 'check') {
    out(USAGE);
    return sub === undefined || sub === 'help' ? 0 : 2;
  }
  const prompts = openPrompts(config);
  try {
    if (sub === 'check') return await check(prompts, out);
    const langFlag = rest.indexOf('--lang');
    const lang = (langFlag >= 0 ? rest[langFlag + 1] : config.language) as Language;
    if (!LANGUAGES.includes(lang)) {
      out(`--lang must be one of ${LANGUAGES.join(', ')}`);
      return 2;
    }
    return await list(prompts, config, lang, out);
  } finally {
    prompts.renderer.close();
  }
}

async function check(prompts: Prompts, out: Out): Promise<number> {
  const store = prompts.recordings;
  if (!store) return 0;
  const report = await store.load();
  for (const lang of LANGUAGES) out(`${lang}: recordings read from ${store.dirOf(lang)}`);
  for (const r of report.recordings) out(`ok       ${r.lang}/${r.id}  ${r.seconds.toFixed(2)} s  (${r.source})`);
  for (const p of report.problems) out(`REFUSED  ${p.file}: ${p.message}`);
  out(`${report.recordings.length} recording(s) in use (${report.converted} converted now), ${report.problems.length} problem(s)`);
  return report.problems.length > 0 ? 1 : 0;
}

async function list(prompts: Prompts, config: Config, lang: Language, out: Out): Promise<number> {
  const report = await prompts.recordings?.load();
  const recorded = new Map((report?.recordings ?? []).filter((r) => r.lang === lang).map((r) => [r.id, r]));
  const rows: string[][] = [['id', 'source', 'seconds', 'text']];
  let ttsSeconds = 0;
  let recordedSeconds = 0;
  for (const { id, text } of recordableIds(prompts.catalog, lang)) {
    const rec = recorded.get(id);
    let seconds: number;
    if (rec) {
      seconds = rec.seconds;
      recordedSeconds += seconds;
    } else {
      // A digit is played as a clip (trimmed, barely padded) when not recorded.
      const kind = DIGIT_IDS.includes(id) ? 'clip' : 'speech';
      seconds = await wavSeconds((await prompts.renderer.render(text.trim(), lang, speechStyleOf(config, id, lang), kind)).path);
      ttsSeconds += seconds;
    }
    rows.push([id, rec ? 'recorded' : 'tts', seconds.toFixed(2), text]);
  }
  for (const name of prompts.catalog.names) {
    const entry = prompts.catalog.get(name, lang);
    if (entry.slots.length > 0) rows.push([name, 'parts', '-', `${entry.text}  (parts ${name}.1 …; {${entry.slots.join('}, {')}} filled per call)`]);
  }
  const width = rows.reduce((w, r) => w.map((x, i) => Math.max(x, (r[i] ?? '').length)), [0, 0, 0]);
  for (const r of rows) out(r.map((c, i) => (i < 3 ? c.padEnd(width[i] ?? 0) : c)).join('  '));
  out(`${lang}: ${recorded.size} recorded (${recordedSeconds.toFixed(1)} s), the rest TTS (${ttsSeconds.toFixed(1)} s)`);
  return 0;
}
