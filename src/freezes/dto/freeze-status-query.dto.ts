import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDefined, IsOptional, Matches } from 'class-validator';
import { SLUG_MESSAGE, SLUG_PATTERN } from '../../common/slug';

export class FreezeStatusQueryDto {
  @ApiProperty({ example: 'production', description: "An environment in the key's scope." })
  @IsDefined({ message: 'environment is required' })
  @Matches(SLUG_PATTERN, { message: SLUG_MESSAGE('environment') })
  environment: string;

  @ApiPropertyOptional({
    example: 'payments',
    description:
      'The service a rollout would deploy. Left out: every freeze of the environment counts, ' +
      'whatever its services.',
  })
  @IsOptional()
  @Matches(SLUG_PATTERN, { message: SLUG_MESSAGE('service') })
  service?: string;
}
