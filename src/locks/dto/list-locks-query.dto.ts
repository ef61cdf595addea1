import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';
import { SLUG_MESSAGE, SLUG_PATTERN } from '../../common/slug';

export class ListLocksQueryDto {
  @ApiPropertyOptional({ example: 'production' })
  @IsOptional()
  @Matches(SLUG_PATTERN, { message: SLUG_MESSAGE('environment') })
  environment?: string;

  @ApiPropertyOptional({
    example: 'payments',
    description:
      'The locks that stop this service: those on it and those on every service of their environment.',
  })
  @IsOptional()
  @Matches(SLUG_PATTERN, { message: SLUG_MESSAGE('service') })
  service?: string;
}
