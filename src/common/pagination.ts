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
    example: 'WyJkZXBsb3ltZW50cyIsIjIwMjYtMTEtMjVUMTA6MzA6MDAuMTIwWiIsIjAxOTM2MzFhIl0',
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

/** What to read for a page: one row more than asked, which says whether another page follows. */
export interface PageWindow {
  limit: number;
  offset?: number;
  /** The position of the last row of the previous page. */
  after?: Position;
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
    example: 'WyJkZXBsb3ltZW50cyIsIjIwMjYtMTEtMjVUMTA6MzA6MDAuMTIwWiIsIjAxOTM2MzFhIl0',
    description: 'Pass as `cursor` for the items after this page; null on the last page.',
  })
  next_cursor: string | null;
}

const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const CURSOR_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * The paging of one list: which rows a query's page is, and what its answer says about it. A
 * cursor names its list, so one handed out by another list is refused rather than misread.
 */
export class ListPaging<T> {
  constructor(
    private readonly list: string,
    private readonly position: (row: T) => Position,
  ) {}

  window(query: PaginationQueryDto): PageWindow {
    const limit = query.per_page + 1;
    if (query.cursor === undefined)
      return { limit, offset: ((query.page ?? 1) - 1) * query.per_page };
    if (query.page !== undefined) {
      throw ApiError.validation('Give either page or cursor, not both', [
        { field: 'cursor', message: 'cursor cannot be combined with page' },
      ]);
    }
    return { limit, after: this.decode(query.cursor) };
  }

  /**
   * The page's rows (the window's extra row cut off) and what the answer says about the page.
   * `total` is counted only when paging by number.
   */
  page(rows: T[], query: PaginationQueryDto, total?: number): { rows: T[]; page: PageDto } {
    const more = rows.length > query.per_page;
    const shown = more ? rows.slice(0, query.per_page) : rows;
    const next_cursor = more ? this.encode(this.position(shown[shown.length - 1])) : null;
    const page: PageDto =
      query.cursor === undefined
        ? { total, page: query.page ?? 1, per_page: query.per_page, next_cursor }
        : { per_page: query.per_page, next_cursor };
    return { rows: shown, page };
  }

  private encode(position: Position): string {
    return Buffer.from(JSON.stringify([this.list, ...position])).toString('base64url');
  }

  private decode(cursor: string): Position {
    let parts: unknown;
    try {
      parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    } catch {
      parts = undefined;
    }
    const [list, time, id] = (Array.isArray(parts) && parts.length === 3 ? parts : []) as unknown[];
    if (
      typeof time === 'string' &&
      CURSOR_TIME.test(time) &&
      typeof id === 'string' &&
      CURSOR_ID.test(id)
    ) {
      if (list === this.list) return [time, id];
      if (typeof list === 'string') {
        throw ApiError.validation(
          `Invalid cursor: it continues the list of ${list}, not ${this.list}`,
          [{ field: 'cursor', message: `cursor belongs to the list of ${list}` }],
        );
      }
    }
    throw ApiError.validation('Invalid cursor: it must be a next_cursor from a list answer', [
      { field: 'cursor', message: 'cursor must be a next_cursor from a list answer' },
    ]);
  }
}

/** Lists of rows ordered {@link NEWEST_FIRST}. */
export const byCreation = (row: { createdAt: string; id: string }): Position => [
  row.createdAt,
  row.id,
];
