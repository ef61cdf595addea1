import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsEnum,
  IsISO8601,
  IsOptional,
  IsString,
  Length,
  Matches,
} from 'class-validator';
import { SLUG_PATTERN } from '../../common/slug';
import { Permission } from '../permission.enum';

const ENVIRONMENT_OR_ALL = new RegExp(`^\\*$|${SLUG_PATTERN.source}`);

export class CreateApiKeyDto {
  /** A name that says who or what uses the key. */
  @ApiProperty({ example: 'github-actions-payments', minLength: 1, maxLength: 100 })
  @IsString()
  @Length(1, 100)
  name: string;

  @ApiProperty({
    enum: Permission,
    isArray: true,
    example: ['deployments:read', 'deployments:create'],
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayUnique()
  @IsEnum(Permission, {
    each: true,
    message: `each permission must be one of: ${Object.values(Permission).join(', ')}`,
  })
  permissions: Permission[];

  @ApiProperty({
    description: 'Environment names the key may act on, or `["*"]` for all of them.',
    example: ['staging'],
    type: [String],
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @ArrayUnique()
  @IsString({ each: true })
  @Matches(ENVIRONMENT_OR_ALL, { each: true, message: "each environment must be '*' or a slug" })
  environments: string[];

  @ApiPropertyOptional({
    example: '2027-01-01T00:00:00.000Z',
    description: 'When the key stops working.',
  })
  @IsOptional()
  @IsISO8601({ strict: true })
  expires_at?: string;
}
