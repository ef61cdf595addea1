import { Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AuditNote, ForAudit } from '../audit/audit-note';
import {
  ApiAcceptedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentPrincipal, RequirePermissions } from '../auth/auth.decorators';
import { Permission } from '../auth/permission.enum';
import type { Principal } from '../auth/principal';
import { ApiErrorResponses } from '../common/errors/api-error-responses.decorator';
import { ErrorCode } from '../common/errors/error-code.enum';
import { ListOperationsQueryDto } from './dto/list-operations-query.dto';
import { OperationListResponseDto, OperationResponseDto } from './dto/operation-response.dto';
import { OperationsService } from './operations.service';
import { ResourceIdPipe } from '../common/resource-id.pipe';
import {
  GetOperationQueryDto,
  OperationLogsQueryDto,
  OperationLogsResponseDto,
} from './dto/operation-logs.dto';
import { closedSignal, writeEventStream } from './operation-event-stream';

@ApiTags('operations')
@Controller('api/v1/operations')
export class OperationsController {
  constructor(private readonly operations: OperationsService) {}

  @Get()
  @RequirePermissions(Permission.OperationsRead)
  @ApiOperation({
    operationId: 'listOperations',
    summary: 'List operations, newest first',
    description: "Filter by status and type; only operations in the key's environments are shown.",
  })
  @ApiOkResponse({ type: OperationListResponseDto })
  @ApiErrorResponses(ErrorCode.ValidationError)
  list(
    @CurrentPrincipal() principal: Principal,
    @Query() query: ListOperationsQueryDto,
  ): Promise<OperationListResponseDto> {
    return this.operations.list(principal, query);
  }

  @Get(':id')
  @RequirePermissions(Permission.OperationsRead)
  @ApiOperation({
    operationId: 'getOperation',
    summary: 'Get an operation: status, progress, error, result',
    description:
      'With `wait=N`, answers when the operation finishes or after N seconds (long-poll).',
  })
  @ApiOkResponse({ type: OperationResponseDto })
  @ApiErrorResponses(ErrorCode.ValidationError, ErrorCode.ResourceNotFound)
  get(
    @CurrentPrincipal() principal: Principal,
    @Param('id', new ResourceIdPipe('Operation')) id: string,
    @Query() query: GetOperationQueryDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OperationResponseDto> {
    // Only a long-poll needs to know when the client leaves.
    const wait = query.wait ?? 0;
    return this.operations.get(principal, id, wait, wait > 0 ? closedSignal(res) : undefined);
  }

  @Get(':id/logs')
  @RequirePermissions(Permission.OperationsRead)
  @ApiOperation({
    operationId: 'getOperationLogs',
    summary: 'Output lines of an operation, after line `after`',
    description:
      'Pass `next` back as `after` to read on. Each operation keeps its newest lines; `dropped` counts the others.',
  })
  @ApiOkResponse({ type: OperationLogsResponseDto })
  @ApiErrorResponses(ErrorCode.ValidationError, ErrorCode.ResourceNotFound)
  logs(
    @CurrentPrincipal() principal: Principal,
    @Param('id', new ResourceIdPipe('Operation')) id: string,
    @Query() query: OperationLogsQueryDto,
  ): Promise<OperationLogsResponseDto> {
    return this.operations.logs(principal, id, query);
  }

  @Get(':id/events')
  @RequirePermissions(Permission.OperationsRead)
  @ApiOperation({
    operationId: 'streamOperationEvents',
    summary: 'Follow an operation as Server-Sent Events until it ends',
    description:
      'Events: `status` and `progress` (the whole operation, on each change), `log` (one line, `id` = its ' +
      'number; send `Last-Event-ID` to resume after it), and `end` (the finished operation). Works through any replica.',
  })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({
    description: 'An event stream',
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  })
  @ApiErrorResponses(ErrorCode.ResourceNotFound)
  async events(
    @CurrentPrincipal() principal: Principal,
    @Param('id', new ResourceIdPipe('Operation')) id: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const resumeAfter = Number.parseInt(req.header('last-event-id') ?? '0', 10);
    const updates = await this.operations.follow(
      principal,
      id,
      Number.isSafeInteger(resumeAfter) && resumeAfter > 0 ? resumeAfter : 0,
      closedSignal(res),
    );
    await writeEventStream(res, updates);
  }

  @Post(':id/cancel')
  @HttpCode(202)
  @RequirePermissions(Permission.OperationsCancel)
  @ApiOperation({
    operationId: 'cancelOperation',
    summary: 'Cancel an operation',
    description: 'A pending operation ends `cancelled` at once; a running one stops shortly after.',
  })
  @ApiAcceptedResponse({ type: OperationResponseDto })
  @ApiErrorResponses(ErrorCode.ResourceNotFound, ErrorCode.Conflict)
  cancel(
    @CurrentPrincipal() principal: Principal,
    @Param('id', new ResourceIdPipe('Operation')) id: string,
    @ForAudit() audit: AuditNote,
  ): Promise<OperationResponseDto> {
    return this.operations.cancel(principal, id, audit);
  }
}
