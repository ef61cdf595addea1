import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequirePermissions } from '../auth/auth.decorators';
import { Permission } from '../auth/permission.enum';
import type { Principal } from '../auth/principal';
import { ApiErrorResponses } from '../common/errors/api-error-responses.decorator';
import { ErrorCode } from '../common/errors/error-code.enum';
import { AuditService } from './audit.service';
import { AuditEventListResponseDto, ListAuditEventsQueryDto } from './dto/audit-event.dto';

@ApiTags('audit')
@Controller('api/v1/audit-events')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @RequirePermissions(Permission.AuditRead)
  @ApiOperation({
    operationId: 'listAuditEvents',
    summary: 'Who did what: mutating requests and refused ones, newest first',
    description:
      'Every POST/PUT/PATCH/DELETE and every 401/403, with the actor key, action, target, outcome, request id ' +
      'and source address. Filter by actor, action, target, outcome and time. A key limited to some environments ' +
      'sees only the events about deployments and operations in them; events about keys and settings, and ' +
      'requests refused before their environment was known, only a key with every environment (`*`) sees.',
  })
  @ApiOkResponse({ type: AuditEventListResponseDto })
  @ApiErrorResponses(ErrorCode.ValidationError)
  list(
    @CurrentPrincipal() principal: Principal,
    @Query() query: ListAuditEventsQueryDto,
  ): Promise<AuditEventListResponseDto> {
    return this.audit.list(principal, query);
  }
}
