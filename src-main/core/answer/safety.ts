/**
 * Hazardous-work detection: questions about lockout/tagout, live electrical work,
 * stored pressure, confined spaces, moving machinery, hot work, chemicals or work at
 * height bring the safety rules into the answer.
 */
import { normalizeForMatch } from '../text/normalize';

const TOPICS: Record<string, string[]> = {
  lockout: [
    'lockout',
    'lock out',
    'tagout',
    'tag out',
    'loto',
    'isolation',
    'isolate',
    '上鎖',
    '掛牌',
    '隔離',
    '能量隔離',
  ],
  electrical: [
    'live',
    'voltage',
    'high voltage',
    'electrical',
    'energized',
    'arc flash',
    'breaker',
    '高壓',
    '帶電',
    '電擊',
    '配電',
    '停電',
    '驗電',
    '電氣',
  ],
  pressure: [
    'pressure',
    'hydraulic',
    'pneumatic',
    'compressed',
    'steam',
    'bleed',
    '壓力',
    '液壓',
    '油壓',
    '氣壓',
    '洩壓',
    '蒸氣',
  ],
  confined: ['confined space', 'tank entry', 'vessel entry', '侷限空間', '局限空間', '槽內', '人孔'],
  machinery: [
    'guard',
    'rotating',
    'pinch',
    'press brake',
    'amputation',
    'conveyor jam',
    '護罩',
    '夾捲',
    '捲入',
    '沖壓',
    '切割',
  ],
  hotwork: ['welding', 'hot work', 'cutting torch', '焊接', '動火', '明火'],
  chemical: ['chemical', 'acid', 'solvent', 'toxic', 'msds', 'sds', '化學', '酸', '溶劑', '有毒'],
  height: ['fall', 'ladder', 'scaffold', 'at height', '高處', '墜落', '梯子', '施工架'],
};

const NORMALIZED = Object.entries(TOPICS).map(([topic, words]) => ({ topic, words: words.map(normalizeForMatch) }));

/** Hazard topics a question touches (empty when none). */
export function hazardTopics(question: string): string[] {
  const q = normalizeForMatch(question);
  return NORMALIZED.filter(({ words }) =>
    words.some((w) => (/^[a-z ]+$/.test(w) ? new RegExp(`\\b${w}`).test(q) : q.includes(w))),
  ).map((t) => t.topic);
}
