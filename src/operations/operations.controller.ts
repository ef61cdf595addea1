import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequirePermissions } from '../auth/auth.decorators';
import { Permission } from '../auth/permission.enum';
import type { Principal } from '../auth/principal';
import { ApiErrorResponses } from '../common/errors/api-error-responses.decorator';
import { ErrorCode } from '../common/errors/error-code.enum';
import { ListOperationsQueryDto } from './dto/list-operations-query.dto';
import { OperationListResponseDto, OperationResponseDto } from './dto/operation-response.dto';
import { OperationsService } from './operations.service';
import { ResourceIdPipe } from '../common/resource-id.pipe';

@ApiTags('operations')
@Controller('api/v1/operations')
export class OperationsController {
  constructor(private readonly operations: OperationsService) {}

  @Get()
  @RequirePermissions(Permission.OperationsRead)
  @ApiOperation({ operationId: 'listOperations', summary: 'List operations, newest first' })
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
  })
  @ApiOkResponse({ type: OperationResponseDto })
  @ApiErrorResponses(ErrorCode.ResourceNotFound)
  get(
    @CurrentPrincipal() principal: Principal,
    @Param('id', new ResourceIdPipe('Operation')) id: string,
  ): Promise<OperationResponseDto> {
    return this.operations.get(principal, id);
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
  ): Promise<OperationResponseDto> {
    return this.operations.cancel(principal, id);
  }
}
