import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { AuditNote, ForAudit } from '../audit/audit-note';
import { CurrentPrincipal, RequirePermissions } from '../auth/auth.decorators';
import { Permission } from '../auth/permission.enum';
import type { Principal } from '../auth/principal';
import { ApiErrorResponses } from '../common/errors/api-error-responses.decorator';
import { ErrorCode } from '../common/errors/error-code.enum';
import { ResourceIdPipe } from '../common/resource-id.pipe';
import { CreateLockDto } from './dto/create-lock.dto';
import { ListLocksQueryDto } from './dto/list-locks-query.dto';
import { LockListResponseDto, LockResponseDto } from './dto/lock-response.dto';
import { toLockResponse } from './lock.mapper';
import { LocksService } from './locks.service';

@ApiTags('locks')
@Controller('api/v1/locks')
export class LocksController {
  constructor(private readonly locks: LocksService) {}

  @Post()
  @RequirePermissions(Permission.LocksManage)
  @ApiOperation({
    operationId: 'createLock',
    summary: 'Lock a service, or every service, in an environment',
    description:
      'Rollouts and rollbacks there are refused (`409 deployment_blocked`) to every key but this one, until the ' +
      'lock is released or its `expires_at` comes. One lock per service and environment, and one environment-wide ' +
      'lock per environment: a second answers `409 conflict` with the lock in force in `details.lock`. The ' +
      "environment must be in the key's scope (else 403).",
  })
  @ApiCreatedResponse({ type: LockResponseDto })
  @ApiErrorResponses(ErrorCode.ValidationError, ErrorCode.Conflict, ErrorCode.PayloadTooLarge)
  async create(
    @CurrentPrincipal() principal: Principal,
    @Body() dto: CreateLockDto,
    @ForAudit() audit: AuditNote,
  ): Promise<LockResponseDto> {
    audit.environment = dto.environment;
    return toLockResponse(await this.locks.create(principal, dto, audit));
  }

  @Get()
  @RequirePermissions(Permission.DeploymentsRead)
  @ApiOperation({
    operationId: 'listLocks',
    summary: 'List the locks in force, newest first',
    description:
      "Locks not released and not expired, in the key's environments. `service` keeps those that stop that " +
      'service: the ones on it and the environment-wide ones.',
  })
  @ApiOkResponse({ type: LockListResponseDto })
  @ApiErrorResponses(ErrorCode.ValidationError)
  list(
    @CurrentPrincipal() principal: Principal,
    @Query() query: ListLocksQueryDto,
  ): Promise<LockListResponseDto> {
    return this.locks.list(principal, query);
  }

  @Delete(':id')
  @HttpCode(204)
  // Any key may ask: the key that took the lock, or one with deployments:override, may release it.
  @RequirePermissions()
  @ApiOperation({
    operationId: 'releaseLock',
    summary: 'Release a lock',
    description:
      'Its creator may release it, and so may a key with `deployments:override`; any other key: 403. A lock ' +
      "unknown, outside the key's environments, or no longer in force (released, expired): 404. The lock is kept, " +
      'ended.',
  })
  @ApiNoContentResponse({ description: 'Released.' })
  @ApiErrorResponses(ErrorCode.AuthorizationError, ErrorCode.ResourceNotFound)
  async release(
    @CurrentPrincipal() principal: Principal,
    @Param('id', new ResourceIdPipe('Lock')) id: string,
    @ForAudit() audit: AuditNote,
  ): Promise<void> {
    await this.locks.release(principal, id, audit);
  }
}
