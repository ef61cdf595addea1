import { TableColumnOptions } from 'typeorm';

/** Now as the RFC 3339 string the API returns; timestamps are stored in this sortable form. */
export const nowIso = (): string => new Date().toISOString();

/** Milliseconds from one stored timestamp to a later one. */
export function millisecondsBetween(from: string, to: string): number {
  return Date.parse(to) - Date.parse(from);
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
