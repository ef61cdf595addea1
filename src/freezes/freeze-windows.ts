import { CronExpressionParser } from 'cron-parser';

/**
 * When freezes apply: pure window maths over instants (milliseconds since the epoch).
 *
 * A recurring freeze starts a window of `durationMinutes` (elapsed time) at each instant whose local
 * time in `timezone` matches its cron. cron-parser reads the cron, and walks the matches on the
 * local clock written as if it were UTC (a clock without daylight saving, where its walks are
 * exact); this module turns each local time into instants (docs/decisions/032):
 * - a local time the clock shows twice (autumn) starts a window at both instants;
 * - a local time the clock skips (spring) starts its window as far past the change as it is past
 *   the skipped hour's start (02:30 in Berlin on 29 March 2026 → 03:30 CEST, 01:30Z).
 * Windows are half-open, [start, end): a freeze ending at 18:00 no longer applies at 18:00.
 */

export const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
/** More than any change of a zone's offset (daylight saving: one hour; Lord Howe: half; Troll: two). */
const MAX_SHIFT = 3 * HOUR;
/** The longest recurring window: 31 days (a yearly holiday freeze fits; a longer one is a one-off). */
export const MAX_DURATION_MINUTES = 31 * 24 * 60;
/** Windows that overlap or touch merge; a chain of more than this many is reported without an end. */
const MAX_CHAINED_MATCHES = 500;
/** A merged window, or windows of several freezes back to back, lasting longer: reported without an end. */
const HORIZON = 366 * DAY;
/** Windows of different freezes handing over to each other more often: reported without an end. */
const MAX_HANDOVERS = 100;
/** How many cron matches a search for the next window looks through at most. */
const MAX_SEARCHED_MATCHES = 2000;

/** A one-off window. */
export interface OneOffSchedule {
  startsAt: number;
  endsAt: number;
}

/** A window at each match of `cron` in `timezone`. */
export interface RecurringSchedule {
  cron: string;
  durationMinutes: number;
  timezone: string;
}

export type FreezeSchedule = OneOffSchedule | RecurringSchedule;

const isRecurring = (s: FreezeSchedule): s is RecurringSchedule => 'cron' in s;

// --- validation -------------------------------------------------------------------------------

/** A cron's five fields, single-spaced. */
export function normaliseCron(cron: string): string {
  return cron.trim().split(/\s+/).join(' ');
}

/** What is wrong with a cron expression for a freeze, or undefined when it is fine. */
export function cronProblem(cron: string): string | undefined {
  const fields = normaliseCron(cron).split(' ');
  if (fields.length !== 5)
    return `cron must have five fields (minute hour day-of-month month day-of-week), not ${fields.length}`;
  // cron-parser's H picks a random value: a freeze must open at a time its author can read.
  if (fields.some((field) => field.split(',').some((part) => /^H([(/]|$)/.test(part))))
    return 'cron must not use H (a random value): write the time out';
  try {
    CronExpressionParser.parse(fields.join(' '), { tz: 'UTC' }).next();
  } catch (error) {
    return `cron is not a valid cron expression: ${(error as Error).message}`;
  }
  return undefined;
}

/** Whether `name` is an IANA time zone this runtime knows (`Europe/Berlin`, `UTC`), case aside. */
export function isTimeZone(name: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(name)) return false; // no offsets such as +01:00
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

// --- time zones -------------------------------------------------------------------------------

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let found = formatters.get(zone);
  if (!found) {
    if (formatters.size >= 1000) formatters.clear();
    found = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, found);
  }
  return found;
}

/** The zone's offset from UTC at an instant, in milliseconds (+1 h in Berlin in winter). */
function offsetAt(zone: string, instant: number): number {
  const parts = formatter(zone).formatToParts(instant);
  const part = (type: Intl.DateTimeFormatPartTypes) =>
    Number(parts.find((p) => p.type === type)!.value);
  const local = Date.UTC(
    part('year'),
    part('month') - 1,
    part('day'),
    part('hour'),
    part('minute'),
    part('second'),
  );
  return local - Math.floor(instant / 1000) * 1000;
}

/** The local time at an instant, written as if it were UTC. */
const localOf = (zone: string, instant: number) => instant + offsetAt(zone, instant);

/**
 * Whether the zone keeps one offset from a day before `from` to a day after `to` (sampled every
 * week: no zone changes its offset and back within a week).
 */
function steady(zone: string, from: number, to: number): boolean {
  const first = offsetAt(zone, from - DAY);
  for (let at = from - DAY + WEEK; at < to + DAY; at += WEEK)
    if (offsetAt(zone, at) !== first) return false;
  return offsetAt(zone, to + DAY) === first;
}

/**
 * The instants at which the zone's clock shows `local`: one; two when the clock goes back over it;
 * when it skips it, the instant as far past the change (02:30 → 03:30).
 */
function instantsOf(zone: string, local: number): number[] {
  const before = offsetAt(zone, local - DAY);
  const after = offsetAt(zone, local + DAY);
  if (before === after) return [local - before];
  const found = [local - before, local - after]
    .filter((instant) => offsetAt(zone, instant) === local - instant)
    .sort((a, b) => a - b);
  return found.length > 0 ? found : [local - before];
}

// --- cron matches on the local clock ----------------------------------------------------------

/**
 * The cron's matches on the local clock (written as UTC) from `from` on, `from` included, going
 * down or up; they end where cron-parser finds no more.
 */
function* localMatches(cron: string, from: number, direction: 'down' | 'up'): Generator<number> {
  const expression = CronExpressionParser.parse(cron, { tz: 'UTC' });
  expression.reset(new Date(direction === 'down' ? from + 1 : from - 1));
  for (;;) {
    let local: number;
    try {
      local = (direction === 'down' ? expression.prev() : expression.next()).getTime();
    } catch {
      return; // past the last match it can find
    }
    yield local;
  }
}

const durationOf = (s: RecurringSchedule) => s.durationMinutes * MINUTE;

// --- windows ----------------------------------------------------------------------------------

/** The start of the latest window of a recurring schedule that covers `at`, if one does. */
function coveringStart(s: RecurringSchedule, at: number): number | undefined {
  const zone = s.timezone;
  const after = at - durationOf(s); // a window covers `at` when it starts in (after, at]
  const slack = steady(zone, after, at) ? 0 : MAX_SHIFT;
  const lowest = localOf(zone, after) - slack;
  let best: { instant: number; local: number } | undefined;
  const matches = localMatches(s.cron, localOf(zone, at) + slack, 'down');
  for (const local of matches) {
    if (local < lowest || (best && local < best.local - slack)) break;
    for (const instant of instantsOf(zone, local))
      if (instant > after && instant <= at && (!best || instant > best.instant))
        best = { instant, local };
    if (best && slack === 0) break;
  }
  return best?.instant;
}

/**
 * When a recurring schedule's window [start, end) closes once the windows that overlap or touch it
 * are merged in; null when they chain on past {@link MAX_CHAINED_MATCHES} or {@link HORIZON}.
 */
function mergedClose(s: RecurringSchedule, start: number, end: number): number | null {
  const zone = s.timezone;
  const duration = durationOf(s);
  let close = end;
  const slack = steady(zone, start, start) ? 0 : MAX_SHIFT;
  let stopAfter: number | undefined; // a local time past which no match can reach back to `close`
  let seen = 0;
  for (const local of localMatches(s.cron, localOf(zone, start) - slack, 'up')) {
    if (++seen > MAX_CHAINED_MATCHES) return null;
    const instants = instantsOf(zone, local);
    for (const instant of instants)
      if (instant <= close && instant + duration > close) close = instant + duration;
    if (close - start > HORIZON) return null;
    if (instants.some((instant) => instant <= close)) {
      stopAfter = undefined;
      continue;
    }
    stopAfter ??= steady(zone, close, instants[0]) ? local : local + MAX_SHIFT;
    if (local >= stopAfter) break;
  }
  return close;
}

/** The first window of a recurring schedule starting after `at`, if cron-parser finds one. */
function firstStartAfter(s: RecurringSchedule, at: number): number | undefined {
  const zone = s.timezone;
  const slack = steady(zone, at, at) ? 0 : MAX_SHIFT;
  let best: { instant: number; local: number } | undefined;
  let stopAfter: number | undefined;
  let seen = 0;
  for (const local of localMatches(s.cron, localOf(zone, at) - slack, 'up')) {
    if (++seen > MAX_SEARCHED_MATCHES) break;
    for (const instant of instantsOf(zone, local))
      if (instant > at && (!best || instant < best.instant)) best = { instant, local };
    if (!best) continue;
    stopAfter ??= steady(zone, at, best.instant) ? best.local : best.local + MAX_SHIFT;
    if (local >= stopAfter) break;
  }
  return best?.instant;
}

/**
 * The schedule's window covering `at`, if any: when it started, and when it closes with the windows
 * overlapping or touching it merged in (null: no close within a year, or 500 windows in a row).
 */
export function windowAt(
  s: FreezeSchedule,
  at: number,
): { start: number; end: number | null } | undefined {
  if (!isRecurring(s))
    return s.startsAt <= at && at < s.endsAt ? { start: s.startsAt, end: s.endsAt } : undefined;
  const start = coveringStart(s, at);
  if (start === undefined) return undefined;
  return { start, end: mergedClose(s, start, start + durationOf(s)) };
}

/** When the schedule's next window opens after `at`; undefined when none will. */
export function nextOpening(s: FreezeSchedule, at: number): number | undefined {
  if (!isRecurring(s)) return s.startsAt > at ? s.startsAt : undefined;
  return firstStartAfter(s, at);
}

/**
 * When the schedules stop covering `at` together: the close of the union of their windows around
 * `at` (a window of one opening as another closes keeps it going). Undefined when none covers
 * `at`; null when recurring windows keep it going for more than a year, or freezes hand over to
 * each other more than {@link MAX_HANDOVERS} times.
 */
export function unionCloseAt(schedules: FreezeSchedule[], at: number): number | null | undefined {
  let close = at;
  for (let handovers = 0; handovers <= MAX_HANDOVERS; handovers++) {
    let later = close;
    let byRecurring = false;
    for (const s of schedules) {
      const window = windowAt(s, close);
      if (window?.end === null) return null;
      if (window && window.end > later) [later, byRecurring] = [window.end, isRecurring(s)];
    }
    if (later === close) return close === at ? undefined : close;
    // A one-off's end is exact however far; only recurring windows can chain on for ever.
    if (byRecurring && later - at > HORIZON) return null;
    close = later;
  }
  return null;
}

/**
 * When the freeze state of `schedules` next changes after `at`: when frozen, when it thaws; when
 * not, when the next window opens. Null when nothing will change (or recurring windows keep it
 * frozen for more than a year).
 */
export function nextChange(schedules: FreezeSchedule[], at: number): number | null {
  const close = unionCloseAt(schedules, at);
  if (close !== undefined) return close;
  const openings = schedules
    .map((s) => nextOpening(s, at))
    .filter((t): t is number => t !== undefined);
  return openings.length > 0 ? Math.min(...openings) : null;
}
