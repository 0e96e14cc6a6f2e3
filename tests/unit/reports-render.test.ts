// The presentations of one report: SVG charts, the text transmittal, figure formatting.
import { describe, expect, it } from 'vitest';
import { assessQuarter, type AssessmentReport } from '../../src/reports/assessment.js';
import { assessmentChart, escapeXml } from '../../src/reports/assessment-chart.js';
import { loadOrderFacts } from '../../src/reports/assessment-facts.js';
import { formatFigure } from '../../src/reports/definitions.js';
import { parseQuarter } from '../../src/reports/quarter.js';
import { displayWidth, fitWidth, transmittalText } from '../../src/reports/transmittal-text.js';
import { ENGINES } from '../support/engines.js';
import { fixturesOn, type Fixture } from './reports-fixtures.js';

const Q4 = parseQuarter('2026Q4', 'Asia/Shanghai');
const NOW = new Date('2027-01-02T01:00:00.000Z');

async function report(f: Fixture, departments = [
  { id: 'water-supply', name: { 'zh-CN': '县自来水厂', en: 'Water <works> & "pipes"' } },
  { id: 'tourism', name: { 'zh-CN': '县旅游局', en: 'Tourism' } },
  { id: 'idle', name: { 'zh-CN': '县闲置单位', en: 'Idle' } },
]): Promise<AssessmentReport> {
  await f.flush();
  return assessQuarter({ quarter: Q4, facts: await loadOrderFacts(f.store.db, Q4.from, Q4.to), departments, now: NOW });
}

function sample(f: Fixture): Fixture {
  f.order('a', 'water-supply', '2026-10-02T01:00:00.000Z', 'surveyed').attempt('a', 'accepted').acceptance('a', 12)
    .survey('a', 'callback', 'completed', { attitude: 'satisfied', speed: 'unsatisfied', quality: 'satisfied' });
  f.order('b', 'water-supply', '2026-10-03T01:00:00.000Z', 'unacknowledged').event('b', 'chain_exhausted');
  f.order('c', 'tourism', '2026-10-04T01:00:00.000Z').acceptance('c', 7);
  return f;
}

describe.each(ENGINES)('presentations on %s', (engine) => {
  const openFixture = fixturesOn(engine);

  describe('SVG charts', () => {
    it('acceptance: one bar pair per ranked department, widths in proportion, names escaped', async () => {
      const svg = assessmentChart(await report(sample(await openFixture())), 'acceptance', 'en');
      expect(svg).toContain('<title>2026Q4 Acceptance rate (by rank)</title>');
      expect(svg).toContain('1. Tourism');
      expect(svg).toContain('2. Water &lt;works&gt; &amp; &quot;pipes&quot;');
      expect(svg).not.toContain('<works>');
      // Water supply: 1 of 2 accepted → the green bar is half of 380 px.
      expect(svg).toMatch(/<rect x="190" y="\d+" width="190.0" height="14" fill="#2e7d32"><title>Water &lt;works&gt; &amp; &quot;pipes&quot;: accepted 1<\/title>/);
      expect(svg).not.toContain('Idle'); // nothing to rank, not drawn
      expect(svg).not.toMatch(/<script|href=/);
    });

    it('satisfaction: county row and per department, three questions', async () => {
      const svg = assessmentChart(await report(sample(await openFixture())), 'satisfaction', 'zh-CN');
      expect(svg).toContain('全县');
      expect(svg).toContain('服务态度 100.0% (1/1)');
      expect(svg).toContain('处置速度 0.0% (0/1)');
      expect(svg).not.toContain('县旅游局'); // no answered callback
    });

    it('says so when there is nothing to draw', async () => {
      expect(assessmentChart(await report(await openFixture()), 'acceptance', 'zh-CN')).toContain('本季度无可统计的指令');
      expect(assessmentChart(await report(await openFixture()), 'satisfaction', 'en')).toContain('No answered callbacks this quarter');
    });

    it('escapes the five XML characters', () => {
      expect(escapeXml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;');
    });
  });

  describe('text transmittal', () => {
    it('has the title, the Shanghai period, ranked rows aligned by display width, and the county total', async () => {
      const text = transmittalText(await report(sample(await openFixture())), 'zh-CN');
      const lines = text.split('\n');
      expect(lines[0]).toBe('110社会联动各成员单位工作情况季度通报 2026年第4季度');
      expect(lines[1]).toBe('统计期间: 2026-10-01 00:00 – 2027-01-01 00:00 (Asia/Shanghai)   制表时间: 2027-01-02 09:00');
      const table = lines.slice(3, 8);
      expect(table[1]).toMatch(/^ *1 {2}县旅游局 +1 +1 +0 +100\.0% +7\.0/);
      expect(table[2]).toMatch(/^ *2 {2}县自来水厂 +2 +1 +1 +50\.0% +12\.0/);
      expect(table[3]).toMatch(/^ *— {2}县闲置单位 +0 +0 +0 +— +—/);
      expect(table[4]).toMatch(/全县合计 +3 +2 +1 +66\.7%/);
      // Cells are padded by display width and the last column is right-aligned: every line is equally wide.
      expect(new Set(table.map(displayWidth)).size).toBe(1);
    });

    it('counts CJK and full-width characters as two columns', () => {
      expect(displayWidth('abc')).toBe(3);
      expect(displayWidth('县旅游局')).toBe(8);
      expect(displayWidth('（水务）')).toBe(8);
    });

    it('cuts long names to a display width, ending in …', () => {
      expect(fitWidth('County Waterworks (Water Supply Company)', 12)).toBe('County Wate…');
      expect(fitWidth('县自来水厂（水务集团）', 10)).toBe('县自来水…');
      expect(fitWidth('县旅游局', 8)).toBe('县旅游局');
    });
  });
});

describe('figure formats', () => {
  it('rates as percentages with one decimal, empty when undefined', () => {
    expect(formatFigure(0.8333, 'rate')).toBe('83.3%');
    expect(formatFigure(null, 'rate')).toBe('—');
    expect(formatFigure(null, 'count', '')).toBe('');
    expect(formatFigure(1.4, 'ratio')).toBe('1.40');
    expect(formatFigure(25, 'seconds')).toBe('25.0');
  });
});
