import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/departments/catalog.js';
import { callbackRegister, csvField, localMinute, PRIVACY_DISPOSITION, PRIVACY_EVENT, registerCsv, type RegisterRow } from '../../src/survey/callback-register.js';
import { ENGINES } from '../support/engines.js';
import { fixturesOn } from './reports-fixtures.js';

const ROW: RegisterRow = {
  orderId: 'o1', orderCode: '596688', departmentId: 'water-supply', department: '县自来水厂（水务集团）', category: '供水管道爆裂、漏水',
  incidentAt: '2026-11-23T01:05:00.000Z', callbackAt: '2026-11-23T15:59:59.000Z', kind: 'callback', attempts: 2,
  attitude: 'satisfied', speed: 'unsatisfied', quality: 'no_answer', disposition: 'completed', reporterPhone: '138****8000',
};

describe('callback register CSV', () => {
  it('has exactly these bytes: BOM, Chinese headers, local Shanghai times, CRLF lines', () => {
    const csv = registerCsv([ROW, { ...ROW, orderCode: '100200', kind: 'follow_up', attempts: 1, attitude: null, speed: null, quality: null, disposition: 'unreachable' }], 'zh-CN', 'Asia/Shanghai');
    expect(csv).toBe(
      '\uFEFF单号,处置单位,类别,报警时间,回访时间,回访类型,回访次数,服务态度,处置速度,处置水平,回访结果,报警人电话\r\n' +
        '596688,县自来水厂（水务集团）,供水管道爆裂、漏水,2026-11-23 09:05,2026-11-23 23:59,回访,2,满意,不满意,未回答,完成,138****8000\r\n' +
        '100200,县自来水厂（水务集团）,供水管道爆裂、漏水,2026-11-23 09:05,2026-11-23 23:59,二次回访,1,,,,未接通,138****8000\r\n',
    );
  });

  it('English headers and words with LIANDONG_LANG=en', () => {
    const csv = registerCsv([{ ...ROW, disposition: 'opted_out' }], 'en', 'Asia/Shanghai');
    expect(csv.split('\r\n')[0]).toBe('\uFEFFOrder code,Department,Category,Incident time,Callback time,Callback kind,Attempts,Attitude,Speed,Quality,Disposition,Reporter phone');
    expect(csv.split('\r\n')[1]).toBe('596688,县自来水厂（水务集团）,供水管道爆裂、漏水,2026-11-23 09:05,2026-11-23 23:59,callback,2,satisfied,not satisfied,no answer,opted out,138****8000');
  });

  it('quotes separators and defuses spreadsheet formulas', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('line\nbreak')).toBe('"line\nbreak"');
    expect(csvField('=HYPERLINK("x")')).toBe('"\'=HYPERLINK(""x"")"');
    expect(csvField('+86')).toBe("'+86");
    expect(csvField('-1')).toBe("'-1");
  });

  it('defuses formulas hidden behind invisible characters or written full-width, and quotes a ;', () => {
    expect(csvField('\u200b=1+1')).toBe("'=1+1"); // zero-width space stripped, then defused
    expect(csvField('\u2060\ufeff@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField('\u200e-2+3')).toBe("'-2+3"); // bidi mark
    expect(csvField('＝1+1')).toBe("'＝1+1"); // full-width equals: defused, kept as written
    expect(csvField('＋86')).toBe("'＋86");
    expect(csvField('\u3000=1+1')).toBe("'\u3000=1+1"); // ideographic space before =
    expect(csvField(' =1+1')).toBe("' =1+1");
    expect(csvField('a;b')).toBe('"a;b"');
    expect(csvField('=1;2')).toBe('"\'=1;2"');
    // Ordinary text keeps its full-width punctuation and is not touched.
    expect(csvField('县自来水厂（水务集团）')).toBe('县自来水厂（水务集团）');
  });

  it('local minute crosses midnight in Shanghai', () => {
    expect(localMinute('2026-12-31T16:00:00.000Z', 'Asia/Shanghai')).toBe('2027-01-01 00:00');
  });
});

describe.each(ENGINES)('callback register rows on %s', (engine) => {
  const openFixture = fixturesOn(engine);
  const catalog = loadCatalog();

  it('lists finished surveys and privacy cases by callback time, filtered by period and department, numbers masked', async () => {
    const f = (await openFixture())
      .order('a', 'water-supply', '2026-11-01T01:00:00.000Z', 'surveyed').survey('a', 'callback', 'completed', { attitude: 'satisfied', speed: 'unsatisfied', quality: 'no_answer' })
      .order('b', 'tourism', '2026-11-01T02:00:00.000Z', 'surveyed').survey('b', 'callback', 'scheduled') // not finished: not listed
      .order('c', 'tourism', '2026-11-01T03:00:00.000Z', 'completed').event('c', PRIVACY_EVENT, '2026-11-02T00:05:00.000Z')
      .order('d', 'water-supply', '2026-11-01T04:00:00.000Z', 'completed').event('d', PRIVACY_EVENT, '2026-11-03T00:00:00.000Z');
    await f.flush();
    const all = await callbackRegister(f.store.db, catalog, 'zh-CN', {});
    expect(all.map((r) => [r.orderId, r.callbackAt, r.kind, r.attempts, r.disposition])).toEqual([
      ['c', '2026-11-02T00:05:00.000Z', 'callback', 0, PRIVACY_DISPOSITION],
      ['a', '2026-11-02T00:10:00.000Z', 'callback', 0, 'completed'],
      ['d', '2026-11-03T00:00:00.000Z', 'callback', 0, PRIVACY_DISPOSITION],
    ]);
    expect(all[1]).toMatchObject({ attitude: 'satisfied', speed: 'unsatisfied', quality: 'no_answer', reporterPhone: '138****8000', department: catalog.departmentsById.get('water-supply')?.name['zh-CN'] });
    expect(all[0]).toMatchObject({ attitude: null, speed: null, quality: null });
    const filtered = await callbackRegister(f.store.db, catalog, 'en', { from: '2026-11-02T00:06:00.000Z', to: '2026-11-03T00:00:00.000Z' });
    expect(filtered.map((r) => r.orderId)).toEqual(['a']);
    expect((await callbackRegister(f.store.db, catalog, 'en', { departmentId: 'tourism' })).map((r) => r.orderId)).toEqual(['c']);
  });
});
