import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { ApiError } from './errors/api-error';

export const MAX_PER_PAGE = 100;
const DEFAULT_PER_PAGE = 50;

/** `page` and `per_page`, or instead of `page` a `cursor`: the paging of every list. */
export class PaginationQueryDto {
  @ApiPropertyOptional({ minimum: 1, default: 1, example: 1 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  page?: number;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: MAX_PER_PAGE,
    default: DEFAULT_PER_PAGE,
    example: DEFAULT_PER_PAGE,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PER_PAGE)
  per_page: number = DEFAULT_PER_PAGE;

  @ApiPropertyOptional({
    description:
      'The `next_cursor` of the previous answer: the items after its last one. Instead of `page`, ' +
      'for walking a long list: as fast on the thousandth page as on the first, not shifted by ' +
      'items arriving meanwhile, and no `total` (counting every match is what it saves).',
    example: 'WyIyMDI2LTExLTI1VDEwOjMwOjAwLjEyMFoiLCIwMTkzNjMxYSJd',
  })
  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{1,400}$/, { message: 'cursor must be a next_cursor from a list answer' })
  cursor?: string;
}

/** Lists are newest first; the id breaks ties between rows created in the same millisecond. */
export const NEWEST_FIRST: Array<['createdAt' | 'id', 'DESC']> = [
  ['createdAt', 'DESC'],
  ['id', 'DESC'],
];

/** A row's place in its list, newest first: its time and its id. */
export type Position = [string, string];

export const byCreation = (row: { createdAt: string; id: string }): Position => [
  row.createdAt,
  row.id,
];

/** What to read for a page: one row more than asked, which says whether another page follows. */
export interface PageWindow {
  limit: number;
  offset?: number;
  /** The position of the last row of the previous page. */
  after?: Position;
}

export function pageWindow(query: PaginationQueryDto): PageWindow {
  const limit = query.per_page + 1;
  if (query.cursor === undefined)
    return { limit, offset: ((query.page ?? 1) - 1) * query.per_page };
  if (query.page !== undefined) {
    throw ApiError.validation('Give either page or cursor, not both', [
      { field: 'cursor', message: 'cursor cannot be combined with page' },
    ]);
  }
  return { limit, after: decodeCursor(query.cursor) };
}

/** What every list answer says besides its items. */
export class PageDto {
  @ApiPropertyOptional({
    example: 1,
    description: 'Matching items in all pages. Absent when paging by `cursor`.',
  })
  total?: number;

  @ApiPropertyOptional({ example: 1, description: 'Absent when paging by `cursor`.' })
  page?: number;

  @ApiProperty({ example: DEFAULT_PER_PAGE })
  per_page: number;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'WyIyMDI2LTExLTI1VDEwOjMwOjAwLjEyMFoiLCIwMTkzNjMxYSJd',
    description: 'Pass as `cursor` for the items after this page; null on the last page.',
  })
  next_cursor: string | null;
}

/**
 * The page's rows (the window's extra row cut off) and what the answer says about the page.
 * `total` is counted only when paging by number.
 */
export function pageOf<T>(
  rows: T[],
  query: PaginationQueryDto,
  position: (row: T) => Position,
  total?: number,
): { rows: T[]; page: PageDto } {
  const more = rows.length > query.per_page;
  const shown = more ? rows.slice(0, query.per_page) : rows;
  const last = shown[shown.length - 1];
  const next_cursor = more ? encodeCursor(position(last)) : null;
  const page: PageDto =
    query.cursor === undefined
      ? { total, page: query.page ?? 1, per_page: query.per_page, next_cursor }
      : { per_page: query.per_page, next_cursor };
  return { rows: shown, page };
}

function encodeCursor(position: Position): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const CURSOR_ID = /^[A-Za-z0-9._-]{1,64}$/;

function decodeCursor(cursor: string): Position {
  let position: unknown;
  try {
    position = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    position = undefined;
  }
  if (
    Array.isArray(position) &&
    position.length === 2 &&
    typeof position[0] === 'string' &&
    typeof position[1] === 'string' &&
    CURSOR_TIME.test(position[0]) &&
    CURSOR_ID.test(position[1])
  ) {
    return [position[0], position[1]];
  }
  throw ApiError.validation('Invalid cursor: it must be a next_cursor from a list answer', [
    { field: 'cursor', message: 'cursor must be a next_cursor from a list answer' },
  ]);
}
