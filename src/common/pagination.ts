import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

export const MAX_PER_PAGE = 100;

/** `page` and `per_page` query parameters, shared by every list. */
export class PaginationQueryDto {
  @ApiPropertyOptional({ minimum: 1, default: 1, example: 1 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  page: number = 1;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_PER_PAGE, default: 50, example: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PER_PAGE)
  per_page: number = 50;
}

/** Lists are newest first; the id breaks ties between rows created in the same millisecond. */
export const NEWEST_FIRST: Array<['createdAt' | 'id', 'DESC']> = [
  ['createdAt', 'DESC'],
  ['id', 'DESC'],
];

export function pageWindow(query: PaginationQueryDto): { limit: number; offset: number } {
  return { limit: query.per_page, offset: (query.page - 1) * query.per_page };
}

/** What every list answer says besides its items. */
export class PageDto {
  @ApiProperty({ example: 1, description: 'Matching items in all pages.' })
  total: number;

  @ApiProperty({ example: 1 })
  page: number;

  @ApiProperty({ example: 50 })
  per_page: number;
}

export function pageOf(total: number, query: PaginationQueryDto): PageDto {
  return { total, page: query.page, per_page: query.per_page };
}
