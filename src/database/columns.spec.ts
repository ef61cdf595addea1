import { millisecondsBetween } from './columns';

describe('millisecondsBetween', () => {
  const parsed = (from: string, to: string) => Date.parse(to) - Date.parse(from);

  it.each([
    ['the same second', '2026-11-25T10:30:00.120Z', '2026-11-25T10:30:00.950Z'],
    ['across hours of one day', '2026-11-25T00:00:00.000Z', '2026-11-25T23:59:59.999Z'],
    ['across midnight', '2026-11-25T23:59:59.500Z', '2026-11-26T00:00:01.250Z'],
    ['across a month and a year', '2026-12-31T23:00:00.000Z', '2027-01-01T01:00:00.000Z'],
    ['no time at all', '2026-11-25T10:30:00.000Z', '2026-11-25T10:30:00.000Z'],
    ['timestamps not written by nowIso', '2026-11-25T10:30:00Z', '2026-11-25T10:30:05+00:00'],
  ])('agrees with Date.parse %s', (_case, from, to) => {
    expect(millisecondsBetween(from, to)).toBe(parsed(from, to));
  });

  it('reads a duration of the same day from its digits', () => {
    expect(millisecondsBetween('2026-11-25T08:59:58.750Z', '2026-11-25T10:00:00.000Z')).toBe(
      3_601_250,
    );
  });
});
