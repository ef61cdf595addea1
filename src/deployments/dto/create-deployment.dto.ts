import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDefined, IsOptional, IsString, Length, Matches } from 'class-validator';
import { SLUG_MESSAGE, SLUG_PATTERN } from '../../common/slug';
import { IsSingleLine, SINGLE_LINE_DOC } from '../../common/validation';
import { OverrideDto, OverrideField } from './override.dto';

export class CreateDeploymentDto {
  /** The service to deploy. */
  @ApiProperty({ example: 'payments', pattern: SLUG_PATTERN.source })
  @IsDefined({ message: 'service is required' })
  @IsString()
  @Matches(SLUG_PATTERN, { message: SLUG_MESSAGE('service') })
  service: string;

  /** The version to run: a tag, a semver, a commit SHA. */
  @ApiProperty({ example: '1.4.2', minLength: 1, maxLength: 128 })
  @IsDefined({ message: 'version is required' })
  @IsString()
  @Matches(/^[^\p{C}]{1,128}$/u, { message: 'version must be 1-128 printable characters' })
  version: string;

  /** Where to deploy it. */
  @ApiProperty({ example: 'production', pattern: SLUG_PATTERN.source })
  @IsDefined({ message: 'environment is required' })
  @IsString()
  @Matches(SLUG_PATTERN, { message: SLUG_MESSAGE('environment') })
  environment: string;

  @ApiPropertyOptional({
    example: 'Release 1.4.2: faster checkout',
    maxLength: 2000,
    description: SINGLE_LINE_DOC,
  })
  @IsOptional()
  @IsString()
  @IsSingleLine()
  @Length(0, 2000)
  description?: string;

  @OverrideField()
  override?: OverrideDto;
}
