import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { Public } from '../auth/auth.decorators';
import { ApiError } from '../common/errors/api-error';
import { ApiErrorResponses } from '../common/errors/api-error-responses.decorator';
import { ErrorCode } from '../common/errors/error-code.enum';
import { Database } from '../database/database';
import { OperationsService } from '../operations/operations.service';

@ApiTags('health')
@Public()
@SkipThrottle()
@Controller()
export class HealthController {
  constructor(
    private readonly db: Database,
    private readonly operations: OperationsService,
  ) {}

  @Get('healthz')
  @ApiOperation({
    operationId: 'liveness',
    summary: 'Liveness: the process answers',
    description: 'Public. 200 while the process runs.',
  })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  healthz(): { status: string } {
    return { status: 'ok' };
  }

  @Get('readyz')
  @ApiOperation({
    operationId: 'readiness',
    summary: 'Readiness: the database and the queue answer',
    description:
      'Public. 200 when the database (and Redis, when used) answer; else 503 naming what is down.',
  })
  @ApiOkResponse({ schema: { example: { status: 'ok', checks: { database: 'up', queue: 'up' } } } })
  @ApiErrorResponses(ErrorCode.ServiceUnavailable)
  async readyz(): Promise<{ status: string; checks: Record<string, string> }> {
    const [database, queue] = await Promise.all([
      state(this.db.dataSource.query('SELECT 1')),
      state(this.operations.pingQueue()),
    ]);
    const checks = { database, queue };
    if (database === 'down' || queue === 'down') {
      const down = Object.entries(checks)
        .filter(([, s]) => s === 'down')
        .map(([name]) => name);
      throw new ApiError(
        ErrorCode.ServiceUnavailable,
        `Not ready: ${down.join(' and ')} unreachable`,
        { checks },
      );
    }
    return { status: 'ok', checks };
  }
}

async function state(check: Promise<unknown>): Promise<'up' | 'down'> {
  try {
    await check;
    return 'up';
  } catch {
    return 'down';
  }
}
