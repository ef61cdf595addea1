import { TableColumnOptions } from 'typeorm';

/** Now as the RFC 3339 string the API returns; timestamps are stored in this sortable form. */
export const nowIso = (): string => new Date().toISOString();

/** The number written by `count` digits of `text` from `at`. */
function digits(text: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) value = value * 10 + text.charCodeAt(i) - 48;
  return value;
}

/** Milliseconds since midnight of a {@link nowIso} timestamp (`…THH:MM:SS.mmmZ`). */
function timeOfDay(iso: string): number {
  const minutes = digits(iso, 11, 2) * 60 + digits(iso, 14, 2);
  return (minutes * 60 + digits(iso, 17, 2)) * 1000 + digits(iso, 20, 3);
}

/**
 * Milliseconds from one stored timestamp to a later one. Two timestamps of the same day differ
 * only in their time of day, read straight from the digits: `Date.parse` (~0.3 µs a call, two per
 * deployment) was most of the time a list spent turning rows into its answer.
 */
export function millisecondsBetween(from: string, to: string): number {
  const sameDay =
    from.length === 24 &&
    to.length === 24 &&
    from.endsWith('Z') &&
    to.endsWith('Z') &&
    from.charCodeAt(10) === 84 && // 'T'
    from.startsWith(to.substring(0, 11));
  return sameDay ? timeOfDay(to) - timeOfDay(from) : Date.parse(to) - Date.parse(from);
}

// Column builders shared by the migrations so SQLite and PostgreSQL get the same schema.
export const idColumn = (name = 'id'): TableColumnOptions => ({
  name,
  type: 'varchar',
  length: '36',
  isPrimary: name === 'id',
});
export const refColumn = (name: string, nullable = false): TableColumnOptions => ({
  name,
  type: 'varchar',
  length: '36',
  isNullable: nullable,
});
export const timeColumn = (name: string, nullable = false): TableColumnOptions => ({
  name,
  type: 'varchar',
  length: '24',
  isNullable: nullable,
});
export const textColumn = (
  name: string,
  length?: number,
  nullable = false,
): TableColumnOptions => ({
  name,
  type: length ? 'varchar' : 'text',
  ...(length ? { length: String(length) } : {}),
  isNullable: nullable,
});
