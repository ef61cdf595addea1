import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AuditNote, ForAudit } from '../audit/audit-note';
import { CurrentPrincipal, RequirePermissions } from '../auth/auth.decorators';
import { Permission } from '../auth/permission.enum';
import type { Principal } from '../auth/principal';
import { ApiErrorResponses } from '../common/errors/api-error-responses.decorator';
import { ErrorCode } from '../common/errors/error-code.enum';
import { publicUrl } from '../common/urls';
import { AppConfig } from '../config/app-config';
import { DeploymentRollbackService } from './deployment-rollback.service';
import {
  toAcceptedDeploymentResponse,
  toDeploymentResponse,
  toRollbackResponse,
} from './deployment.mapper';
import { DeploymentsService } from './deployments.service';
import { CreateDeploymentDto } from './dto/create-deployment.dto';
import {
  AcceptedDeploymentResponseDto,
  DeploymentEventsResponseDto,
  DeploymentListResponseDto,
  DeploymentResponseDto,
  RollbackResponseDto,
} from './dto/deployment-response.dto';
import { ListDeploymentsQueryDto } from './dto/list-deployments-query.dto';
import { PreflightDto, PreflightResponseDto } from './dto/preflight.dto';
import { RollbackDeploymentDto } from './dto/rollback-deployment.dto';
import { ResourceIdPipe } from '../common/resource-id.pipe';

@ApiTags('deployments')
@Controller('api/v1/deployments')
export class DeploymentsController {
  constructor(
    private readonly deployments: DeploymentsService,
    private readonly rollbacks: DeploymentRollbackService,
    private readonly config: AppConfig,
  ) {}

  /** The URL to poll an operation at (`status_url`), also set as `Location`. */
  private pointAtOperation(req: Request, res: Response, operationId: string): string {
    const statusUrl = publicUrl(this.config, req, `/api/v1/operations/${operationId}`);
    res.location(statusUrl);
    return statusUrl;
  }

  @Get()
  @RequirePermissions(Permission.DeploymentsRead)
  @ApiOperation({
    operationId: 'listDeployments',
    summary: 'List deployments, newest first',
    description:
      "Filter by service, environment and status; only the key's environments are shown.",
  })
  @ApiOkResponse({ type: DeploymentListResponseDto })
  @ApiErrorResponses(ErrorCode.ValidationError)
  list(
    @CurrentPrincipal() principal: Principal,
    @Query() query: ListDeploymentsQueryDto,
  ): Promise<DeploymentListResponseDto> {
    return this.deployments.list(principal, query);
  }

  @Post()
  @RequirePermissions(Permission.DeploymentsCreate)
  @ApiOperation({
    operationId: 'createDeployment',
    summary: 'Deploy a version of a service to an environment',
    description:
      'Answers at once with the pending deployment; its rollout runs as the operation `operation_id`. ' +
      'The request first passes the gates (lock, freeze, …): one that blocks answers `409 deployment_blocked` ' +
      'listing every blocking gate in `details.gates`, and nothing is created. `override` passes them.',
  })
  @ApiCreatedResponse({ type: DeploymentResponseDto })
  @ApiErrorResponses(
    ErrorCode.ValidationError,
    ErrorCode.Conflict,
    ErrorCode.DeploymentBlocked,
    ErrorCode.PayloadTooLarge,
  )
  async create(
    @CurrentPrincipal() principal: Principal,
    @Body() dto: CreateDeploymentDto,
    @ForAudit() audit: AuditNote,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<DeploymentResponseDto> {
    audit.environment = dto.environment;
    const { deployment } = await this.deployments.create(principal, dto, audit);
    res.location(publicUrl(this.config, req, `/api/v1/deployments/${deployment.id}`));
    return toDeploymentResponse(deployment);
  }

  @Post('async')
  @HttpCode(202)
  @RequirePermissions(Permission.DeploymentsCreate)
  @ApiOperation({
    operationId: 'createDeploymentAsync',
    summary: 'Deploy, answering with the operation to poll',
    description:
      'Like `createDeployment`, but the body is the rollout operation and `Location` is its `status_url`.',
  })
  @ApiAcceptedResponse({ type: AcceptedDeploymentResponseDto })
  @ApiErrorResponses(
    ErrorCode.ValidationError,
    ErrorCode.Conflict,
    ErrorCode.DeploymentBlocked,
    ErrorCode.PayloadTooLarge,
  )
  async createAsync(
    @CurrentPrincipal() principal: Principal,
    @Body() dto: CreateDeploymentDto,
    @ForAudit() audit: AuditNote,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<AcceptedDeploymentResponseDto> {
    audit.environment = dto.environment;
    const { deployment, operation } = await this.deployments.create(principal, dto, audit);
    const statusUrl = this.pointAtOperation(req, res, operation.id);
    return toAcceptedDeploymentResponse(deployment, operation, statusUrl);
  }

  @Post('preflight')
  @HttpCode(200)
  @RequirePermissions(Permission.DeploymentsCreate)
  @ApiOperation({
    operationId: 'preflightDeployment',
    summary: 'Ask whether a rollout would pass the gates now, without starting it',
    description:
      'Every gate checked, in order (lock, freeze, …), each with its verdict and reason; `allowed` says whether ' +
      'the rollout would pass them now (with `override`, whether it would pass them overridden). Writes nothing. ' +
      'It answers for the gates only, not for a rollout of the same service already running.',
  })
  @ApiOkResponse({ type: PreflightResponseDto })
  @ApiErrorResponses(ErrorCode.ValidationError, ErrorCode.PayloadTooLarge)
  preflight(
    @CurrentPrincipal() principal: Principal,
    @Body() dto: PreflightDto,
    @ForAudit() audit: AuditNote,
  ): Promise<PreflightResponseDto> {
    audit.environment = dto.environment;
    return this.deployments.preflight(principal, dto, audit);
  }

  @Get(':id')
  @RequirePermissions(Permission.DeploymentsRead)
  @ApiOperation({
    operationId: 'getDeployment',
    summary: 'Get a deployment',
    description: "Answers 404 for an unknown id or one outside the key's environments.",
  })
  @ApiOkResponse({ type: DeploymentResponseDto })
  @ApiErrorResponses(ErrorCode.ResourceNotFound)
  async get(
    @CurrentPrincipal() principal: Principal,
    @Param('id', new ResourceIdPipe('Deployment')) id: string,
  ): Promise<DeploymentResponseDto> {
    return toDeploymentResponse(await this.deployments.get(principal, id));
  }

  @Get(':id/events')
  @RequirePermissions(Permission.DeploymentsRead)
  @ApiOperation({
    operationId: 'listDeploymentEvents',
    summary: 'Every status a deployment went through, oldest first',
    description:
      'One event per status change, written in the same transaction as the status itself.',
  })
  @ApiOkResponse({ type: DeploymentEventsResponseDto })
  @ApiErrorResponses(ErrorCode.ResourceNotFound)
  events(
    @CurrentPrincipal() principal: Principal,
    @Param('id', new ResourceIdPipe('Deployment')) id: string,
  ): Promise<DeploymentEventsResponseDto> {
    return this.deployments.history(principal, id);
  }

  @Post(':id/rollback')
  @HttpCode(202)
  @RequirePermissions(Permission.DeploymentsRollback)
  @ApiOperation({
    operationId: 'rollbackDeployment',
    summary: 'Roll a deployment back to the last version that succeeded before it',
    description:
      'Starts a new deployment of that earlier version (`rollback_id`); when it succeeds this one ends `rolled_back`. ' +
      'Only the current deployment (the newest `successful` one of its service and environment) can be rolled back; ' +
      'another answers 409 `conflict` naming the current one in `details`. A rollback passes the lock gate only ' +
      '(`409 deployment_blocked`; `override` passes it).',
  })
  @ApiAcceptedResponse({ type: RollbackResponseDto })
  @ApiErrorResponses(
    ErrorCode.ValidationError,
    ErrorCode.ResourceNotFound,
    ErrorCode.Conflict,
    ErrorCode.DeploymentFailed,
    ErrorCode.DeploymentBlocked,
  )
  async rollback(
    @CurrentPrincipal() principal: Principal,
    @Param('id', new ResourceIdPipe('Deployment')) id: string,
    @Body() dto: RollbackDeploymentDto,
    @ForAudit() audit: AuditNote,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<RollbackResponseDto> {
    const { deployment, operation } = await this.rollbacks.rollback(
      principal,
      id,
      dto.reason ?? null,
      dto.override,
      audit,
    );
    const statusUrl = this.pointAtOperation(req, res, operation.id);
    const reason = dto.reason ?? null;
    return toRollbackResponse(id, deployment, operation, principal, reason, statusUrl);
  }
}
