import { ApiProperty } from '@nestjs/swagger';
import { PageDto } from '../../common/pagination';
import { Permission } from '../permission.enum';

/** What the caller's own key looks like (`GET /auth/whoami`). */
export class WhoAmIResponseDto {
  @ApiProperty({ example: '0193a6f1-7f3a-7c41-9d5e-3a1f0e2b4c5d' })
  id: string;

  @ApiProperty({ example: 'github-actions-payments' })
  name: string;

  @ApiProperty({ example: 'fdk_Xb3kQ9aZ', description: 'The first characters of the secret.' })
  prefix: string;

  @ApiProperty({ enum: Permission, isArray: true, example: ['deployments:read'] })
  permissions: Permission[];

  @ApiProperty({ example: ['staging'], type: [String] })
  environments: string[];

  @ApiProperty({ example: null, nullable: true, type: String })
  expires_at: string | null;
}

/** A key as listed; never carries the secret or its hash. */
export class ApiKeyResponseDto extends WhoAmIResponseDto {
  @ApiProperty({ example: '2026-11-25T10:30:00.000Z' })
  created_at: string;

  @ApiProperty({ example: null, nullable: true, type: String })
  last_used_at: string | null;

  @ApiProperty({ example: null, nullable: true, type: String })
  revoked_at: string | null;
}

/** A newly created key: the only response that ever shows its secret. */
export class CreatedApiKeyResponseDto extends ApiKeyResponseDto {
  @ApiProperty({ example: 'fdk_Xb3kQ9aZ…', description: 'Shown this once; store it now.' })
  secret: string;
}

export class ApiKeyListResponseDto extends PageDto {
  @ApiProperty({ type: [ApiKeyResponseDto] })
  keys: ApiKeyResponseDto[];
}
