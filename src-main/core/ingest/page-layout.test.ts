import { describe, expect, it } from 'vitest';
import { layoutBlocks, pageLinesFrom, type LayoutItem } from './page-layout';

const W = 612;
const H = 792;

/** One text run per line, 10 pt high, lines 12 pt apart. */
function column(x: number, width: number, top: number, label: string, n: number): LayoutItem[] {
  return Array.from({ length: n }, (_, i) => ({ str: `${label}${i + 1}`, x, top: top + i * 12, w: width, size: 10 }));
}

describe('page layout', () => {
  it('reads a one-column / two-column / one-column page column by column in its place', () => {
    const items = [
      ...column(80, 450, 100, 'intro', 4), // full width
      // Narrow lines that cross where the later gutter is: no gutter runs the whole page height.
      { str: 'short intro line', x: 80, top: 148, w: 240, size: 10 },
      { str: 'another short one', x: 80, top: 160, w: 250, size: 10 },
      ...column(80, 210, 200, 'left', 12),
      ...column(320, 210, 200, 'right', 12),
      ...column(80, 450, 400, 'outro', 3),
    ];
    const order = pageLinesFrom(1, W, H, items).lines.map((l) => l.text);
    expect(order).toEqual([
      'intro1',
      'intro2',
      'intro3',
      'intro4',
      'short intro line',
      'another short one',
      ...Array.from({ length: 12 }, (_, i) => `left${i + 1}`),
      ...Array.from({ length: 12 }, (_, i) => `right${i + 1}`),
      'outro1',
      'outro2',
      'outro3',
    ]);
  });

  it('keeps a table between full-width lines in row order (short cells are not text columns)', () => {
    const rows = Array.from({ length: 12 }, (_, i) => [
      { str: `E-${200 + i}`, x: 80, top: 200 + i * 12, w: 40, size: 10 },
      { str: `fault ${i}`, x: 320, top: 200 + i * 12, w: 60, size: 10 },
    ]).flat();
    const items = [
      ...column(80, 450, 100, 'intro', 3),
      { str: 'short intro line', x: 80, top: 148, w: 240, size: 10 },
      { str: 'another short one', x: 80, top: 160, w: 250, size: 10 },
      ...rows,
      ...column(80, 450, 400, 'outro', 2),
    ];
    const order = pageLinesFrom(1, W, H, items).lines.map((l) => l.text);
    expect(order.slice(5, 8)).toEqual(['E-200 | fault 0', 'E-201 | fault 1', 'E-202 | fault 2']);
  });

  it('keeps a one-column page in plain top-to-bottom order', () => {
    const items = column(80, 300, 100, 'line', 20);
    expect(pageLinesFrom(1, W, H, items).lines.map((l) => l.column)).toEqual(new Array(20).fill(0));
  });

  it('still uses page-wide gutters when the columns run the full height', () => {
    const items = [...column(60, 230, 80, 'a', 30), ...column(320, 230, 80, 'b', 30)];
    const lines = pageLinesFrom(1, W, H, items).lines;
    expect(lines[29]?.text).toBe('a30');
    expect(lines[30]?.text).toBe('b1');
  });

  it('on OCR pages, a large-type line is a heading only when short and not a list item', () => {
    const body = column(80, 300, 300, 'body text line that is long enough to be ordinary prose', 12);
    const items = [
      { str: 'Additional Features', x: 80, top: 100, w: 120, size: 12 },
      { str: '® Operation is similar to a multi-track tape recorder with PLAY', x: 80, top: 130, w: 400, size: 12 },
      { str: 'Every track may be assigned to one of sixteen MIDI channels at once', x: 80, top: 160, w: 400, size: 12 },
      ...body,
    ];
    const headings = (ocr: boolean): string[] => {
      const page = pageLinesFrom(1, W, H, items);
      if (ocr) page.ocrConfidence = 90;
      return layoutBlocks([page])
        .filter((b) => b.kind === 'heading')
        .map((b) => b.text);
    };
    expect(headings(true)).toEqual(['Additional Features']);
    // A text layer's sizes are exact: long large-type lines stay headings there.
    expect(headings(false).length).toBeGreaterThan(1);
  });
});
