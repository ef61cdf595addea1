import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ApiErrorResponses } from '../common/errors/api-error-responses.decorator';
import { ErrorCode } from '../common/errors/error-code.enum';
import { PaginationQueryDto } from '../common/pagination';
import { toWhoAmIResponse } from './api-key.mapper';
import { ApiKeysService } from './api-keys.service';
import { CurrentPrincipal, RequirePermissions } from './auth.decorators';
import {
  ApiKeyListResponseDto,
  CreatedApiKeyResponseDto,
  WhoAmIResponseDto,
} from './dto/api-key-response.dto';
import { CreateApiKeyDto } from './dto/create-api-key.dto';
import { Permission } from './permission.enum';
import type { Principal } from './principal';
import { ResourceIdPipe } from '../common/resource-id.pipe';

@ApiTags('auth')
@Controller('api/v1/auth')
export class AuthController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Get('whoami')
  @RequirePermissions()
  @ApiOperation({
    operationId: 'whoami',
    summary: 'Show the API key making this request',
    description: 'Its name, permissions, environments and expiry. Any valid key may call it.',
  })
  @ApiOkResponse({ type: WhoAmIResponseDto })
  whoami(@CurrentPrincipal() principal: Principal): WhoAmIResponseDto {
    return toWhoAmIResponse(principal);
  }

  @Post('keys')
  @RequirePermissions(Permission.KeysManage)
  @ApiOperation({
    operationId: 'createApiKey',
    summary: 'Create an API key',
    description:
      'The secret is in this response only. A key cannot grant more than the creating key holds, ' +
      'nor outlive it: without `expires_at` it expires with the creating key (if that one expires), ' +
      'and a later `expires_at` is refused. Names are unique among keys not revoked (409).',
  })
  @ApiCreatedResponse({ type: CreatedApiKeyResponseDto })
  @ApiErrorResponses(
    ErrorCode.ValidationError,
    ErrorCode.AuthorizationError,
    ErrorCode.Conflict,
    ErrorCode.PayloadTooLarge,
  )
  create(
    @CurrentPrincipal() principal: Principal,
    @Body() dto: CreateApiKeyDto,
  ): Promise<CreatedApiKeyResponseDto> {
    return this.apiKeys.create(principal, dto);
  }

  @Get('keys')
  @RequirePermissions(Permission.KeysManage)
  @ApiOperation({
    operationId: 'listApiKeys',
    summary: 'List API keys (never their secrets)',
    description:
      "Keys within the caller's environments, newest first, with `last_used_at` and `revoked_at`; " +
      'secrets and hashes are never returned. Paged like every list.',
  })
  @ApiOkResponse({ type: ApiKeyListResponseDto })
  @ApiErrorResponses(ErrorCode.ValidationError)
  list(
    @CurrentPrincipal() principal: Principal,
    @Query() query: PaginationQueryDto,
  ): Promise<ApiKeyListResponseDto> {
    return this.apiKeys.list(principal, query);
  }

  @Delete('keys/:id')
  @HttpCode(204)
  @RequirePermissions(Permission.KeysManage)
  @ApiOperation({
    operationId: 'revokeApiKey',
    summary: 'Revoke an API key and the keys it made; they fail from then on',
    description:
      'Also revokes every key created by it, and by those, and so on. The caller must hold every ' +
      'permission and environment of the key (else 403); a key outside its environments is 404. ' +
      'Answers 204 also when the key was already revoked.',
  })
  @ApiNoContentResponse({ description: 'Revoked (or already revoked).' })
  @ApiErrorResponses(ErrorCode.AuthorizationError, ErrorCode.ResourceNotFound)
  revoke(
    @CurrentPrincipal() principal: Principal,
    @Param('id', new ResourceIdPipe('API key')) id: string,
  ): Promise<void> {
    return this.apiKeys.revoke(principal, id);
  }
}
