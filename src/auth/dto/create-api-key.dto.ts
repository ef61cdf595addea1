import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsEnum,
  IsOptional,
  IsString,
  Length,
  Matches,
} from 'class-validator';
import { ENVIRONMENT_OR_ALL } from '../../common/slug';
import { IsRfc3339, IsSingleLine, SINGLE_LINE_DOC } from '../../common/validation';
import { Permission } from '../permission.enum';

export class CreateApiKeyDto {
  @ApiProperty({
    example: 'github-actions-payments',
    minLength: 1,
    maxLength: 100,
    description: `A name that says who or what uses the key, unique among keys not revoked. ${SINGLE_LINE_DOC}`,
  })
  @IsString()
  @IsSingleLine()
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
    format: 'date-time',
    description: 'When the key stops working: an RFC 3339 date-time (`Z` or an offset).',
  })
  @IsOptional()
  @IsRfc3339()
  expires_at?: string;
}
