import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/auth.decorators';
import { ApiError } from '../common/errors/api-error';
import { ApiErrorResponses } from '../common/errors/api-error-responses.decorator';
import { ErrorCode } from '../common/errors/error-code.enum';
import { Database } from '../database/database';

@ApiTags('health')
@Public()
@Controller()
export class HealthController {
  constructor(private readonly db: Database) {}

  @Get('healthz')
  @ApiOperation({ operationId: 'liveness', summary: 'Liveness: the process answers' })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  healthz(): { status: string } {
    return { status: 'ok' };
  }

  @Get('readyz')
  @ApiOperation({
    operationId: 'readiness',
    summary: 'Readiness: the database (and queue, when used) answer',
  })
  @ApiOkResponse({ schema: { example: { status: 'ok', checks: { database: 'up' } } } })
  @ApiErrorResponses(ErrorCode.ServiceUnavailable)
  async readyz(): Promise<{ status: string; checks: Record<string, string> }> {
    try {
      await this.db.dataSource.query('SELECT 1');
    } catch {
      throw new ApiError(ErrorCode.ServiceUnavailable, 'The database is not reachable', {
        checks: { database: 'down' },
      });
    }
    return { status: 'ok', checks: { database: 'up' } };
  }
}
