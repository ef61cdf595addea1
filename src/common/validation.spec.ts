import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { IsRfc3339, IsSingleLine, rfc3339ToIso } from './validation';

describe('rfc3339ToIso', () => {
  it.each([
    ['2027-01-01T00:00:00Z', '2027-01-01T00:00:00.000Z'],
    ['2027-01-01T00:00:00.5Z', '2027-01-01T00:00:00.500Z'],
    ['2027-01-01T00:00:00.123456789Z', '2027-01-01T00:00:00.123Z'],
    ['2027-01-01T01:00:00+01:00', '2027-01-01T00:00:00.000Z'],
    ['2026-12-31T23:00:00-01:00', '2027-01-01T00:00:00.000Z'],
    ['2027-01-01t00:00:00z', '2027-01-01T00:00:00.000Z'],
    ['2000-02-29T00:00:00Z', '2000-02-29T00:00:00.000Z'],
    ['0000-01-01T00:00:00Z', '0000-01-01T00:00:00.000Z'],
    ['0050-06-01T00:00:00Z', '0050-06-01T00:00:00.000Z'],
    ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
  ])('should read %s as %s', (text, iso) => {
    expect(rfc3339ToIso(text)).toBe(iso);
  });

  it.each([
    '2027-W01',
    '2027-W01-1',
    '20270101T000000Z',
    '2027-001T00:00:00Z',
    '2027-01-01',
    '2027-01-01T00:00Z',
    '2027-01-01T00:00:00',
    '2027-01-01 00:00:00Z',
    '2027-02-30T00:00:00Z',
    '1900-02-29T00:00:00Z',
    '2027-13-01T00:00:00Z',
    '2027-00-01T00:00:00Z',
    '2027-01-00T00:00:00Z',
    '2027-04-31T00:00:00Z',
    '2027-01-01T24:00:00Z',
    '2027-01-01T00:60:00Z',
    '2027-01-01T00:00:60Z',
    '2027-01-01T00:00:00+24:00',
    '2027-01-01T00:00:00+01:60',
    '2027-01-01T00:00:00+0100',
    '2027-01-01T00:00:00.Z',
    '+002027-01-01T00:00:00Z',
    '0000-01-01T00:00:00+00:01',
    '9999-12-31T23:59:59-00:01',
    ' 2027-01-01T00:00:00Z',
    '2027-01-01T00:00:00Z\n',
    '',
  ])('should refuse %j', (text) => {
    expect(rfc3339ToIso(text)).toBeUndefined();
  });

  it('should refuse what is not a string', () => {
    for (const value of [undefined, null, 0, 1798761600000, {}, []])
      expect(rfc3339ToIso(value)).toBeUndefined();
  });
});

describe('@IsRfc3339 and @IsSingleLine', () => {
  class Input {
    @IsRfc3339()
    at!: string;

    @IsSingleLine()
    text!: string;
  }
  const check = (plain: Record<string, unknown>) => {
    const input = plainToInstance(Input, plain);
    return { input, errors: validateSync(input) };
  };

  it('should pass a date-time in UTC on and keep printable text as it is', () => {
    const { input, errors } = check({ at: '2027-01-01T02:00:00+02:00', text: 'Café 🚀 نشر' });

    expect(errors).toEqual([]);
    expect(input).toMatchObject({ at: '2027-01-01T00:00:00.000Z', text: 'Café 🚀 نشر' });
  });

  it('should name the field and say what is wanted', () => {
    const { errors } = check({ at: '2027-W01', text: 'fine' });

    expect(errors.map((e) => [e.property, Object.values(e.constraints ?? {})])).toEqual([
      ['at', ['at must be an RFC 3339 date-time such as 2027-01-01T00:00:00Z']],
    ]);
  });

  it.each([
    ['\u0000', '0000'],
    ['\t', '0009'],
    ['\n', '000A'],
    ['\u001b', '001B'],
    ['\u007f', '007F'],
    ['\u0085', '0085'],
    ['\u009f', '009F'],
    ['\u2028', '2028'],
    ['\u2029', '2029'],
    ['\u202a', '202A'],
    ['\u202e', '202E'],
    ['\u2066', '2066'],
    ['\u2069', '2069'],
  ])('should refuse text holding %j, naming U+%s', (character, code) => {
    const { errors } = check({ at: '2027-01-01T00:00:00Z', text: `a${character}b` });

    expect(errors.map((e) => [e.property, Object.values(e.constraints ?? {})])).toEqual([
      ['text', [`text must be a single line of text without control characters (found U+${code})`]],
    ]);
  });

  it.each([' ', '\u00a0', '\u200d', '\u200e', '\u202f'])(
    'should let %j through (not a control character)',
    (character) => {
      expect(check({ at: '2027-01-01T00:00:00Z', text: `a${character}b` }).errors).toEqual([]);
    },
  );
});
