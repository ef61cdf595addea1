import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequirePermissions } from '../auth/auth.decorators';
import { Permission } from '../auth/permission.enum';
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
      'and source address. Filter by actor, action, target, outcome and time.',
  })
  @ApiOkResponse({ type: AuditEventListResponseDto })
  @ApiErrorResponses(ErrorCode.ValidationError)
  list(@Query() query: ListAuditEventsQueryDto): Promise<AuditEventListResponseDto> {
    return this.audit.list(query);
  }
}
