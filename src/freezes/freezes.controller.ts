import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiBody,
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
import { CreateFreezeDto } from './dto/create-freeze.dto';
import {
  FreezeListResponseDto,
  FreezeResponseDto,
  FreezeStatusResponseDto,
} from './dto/freeze-response.dto';
import { FreezeStatusQueryDto } from './dto/freeze-status-query.dto';
import { toFreezeListResponse, toFreezeResponse, toFreezeStatusResponse } from './freeze.mapper';
import { FreezesService } from './freezes.service';

@ApiTags('freezes')
@Controller('api/v1/freezes')
export class FreezesController {
  constructor(private readonly freezes: FreezesService) {}

  @Post()
  @RequirePermissions(Permission.FreezesManage)
  @ApiOperation({
    operationId: 'createFreeze',
    summary: 'Freeze rollouts for a while, once or on a schedule',
    description:
      'One-off (`starts_at`, `ends_at`; it may have started already, but not ended) or recurring ' +
      '(`cron` and `duration_minutes`, read in `timezone`, default UTC: each cron match starts a ' +
      'window). While a window applies, rollouts (never rollbacks) of its services in its ' +
      'environments answer 409 `deployment_blocked`. The key needs every environment it names ' +
      '(`["*"]`: a key with every environment), else 403. Around daylight-saving changes, a local ' +
      'time that comes twice starts a window at both, and one that is skipped starts its window as ' +
      'far past the change (02:30 → 03:30); a window lasts `duration_minutes` of elapsed time.',
  })
  @ApiBody({
    type: CreateFreezeDto,
    examples: {
      'one-off': {
        summary: 'Black Friday: payments and checkout in production',
        value: {
          name: 'Black Friday',
          environments: ['production'],
          services: ['payments', 'checkout'],
          starts_at: '2026-11-27T00:00:00Z',
          ends_at: '2026-11-30T08:00:00Z',
        },
      },
      recurring: {
        summary: 'Every weekend, every environment, Friday 18:00 to Monday 07:00 in Berlin',
        value: {
          name: 'Weekends',
          environments: ['*'],
          cron: '0 18 * * 5',
          duration_minutes: 3660,
          timezone: 'Europe/Berlin',
        },
      },
    },
  })
  @ApiCreatedResponse({ type: FreezeResponseDto })
  @ApiErrorResponses(ErrorCode.ValidationError, ErrorCode.PayloadTooLarge)
  async create(
    @CurrentPrincipal() principal: Principal,
    @Body() dto: CreateFreezeDto,
    @ForAudit() audit: AuditNote,
  ): Promise<FreezeResponseDto> {
    return toFreezeResponse(await this.freezes.create(principal, dto, audit));
  }

  @Get()
  @RequirePermissions(Permission.DeploymentsRead)
  @ApiOperation({
    operationId: 'listFreezes',
    summary: 'List the freezes that apply now or later',
    description:
      "Those touching the key's environments (a freeze of every environment touches all), newest " +
      'first: every recurring freeze, and the one-off freezes that have not ended.',
  })
  @ApiOkResponse({ type: FreezeListResponseDto })
  async list(@CurrentPrincipal() principal: Principal): Promise<FreezeListResponseDto> {
    return toFreezeListResponse(await this.freezes.list(principal));
  }

  @Get('status')
  @RequirePermissions(Permission.DeploymentsRead)
  @ApiOperation({
    operationId: 'getFreezeStatus',
    summary: 'Whether rollouts to an environment are frozen now, and until when',
    description:
      'The freezes whose window applies now to rollouts in `environment` (of `service`, when ' +
      'given), and `next_change_at`. An environment outside the key’s scope is 403.',
  })
  @ApiOkResponse({ type: FreezeStatusResponseDto })
  @ApiErrorResponses(ErrorCode.ValidationError)
  async status(
    @CurrentPrincipal() principal: Principal,
    @Query() query: FreezeStatusQueryDto,
  ): Promise<FreezeStatusResponseDto> {
    const { active, nextChangeAt } = await this.freezes.status(
      principal,
      query.environment,
      query.service,
    );
    return toFreezeStatusResponse(active, nextChangeAt);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequirePermissions(Permission.FreezesManage)
  @ApiOperation({
    operationId: 'deleteFreeze',
    summary: 'Delete a freeze; its windows stop applying at once',
    description:
      "A freeze not touching the key's environments is 404; one touching them but naming an " +
      'environment the key lacks is 403.',
  })
  @ApiNoContentResponse({ description: 'Deleted.' })
  @ApiErrorResponses(ErrorCode.ResourceNotFound)
  remove(
    @CurrentPrincipal() principal: Principal,
    @Param('id', new ResourceIdPipe('Freeze')) id: string,
    @ForAudit() audit: AuditNote,
  ): Promise<void> {
    return this.freezes.remove(principal, id, audit);
  }
}
