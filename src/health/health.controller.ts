import { Controller, Get } from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckResult,
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/auth.decorators';
import { ApiError } from '../common/errors/api-error';
import { ApiErrorResponses } from '../common/errors/api-error-responses.decorator';
import { ErrorCode } from '../common/errors/error-code.enum';
import { OperationsService } from '../operations/operations.service';

@ApiTags('health')
@Public()
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
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
  @HealthCheck()
  @ApiOperation({
    operationId: 'readiness',
    summary: 'Readiness: the database and the queue answer',
    description:
      'Public. 200 when the database (and Redis, when used) answer; else 503 naming what is down.',
  })
  @ApiOkResponse({
    schema: { example: { status: 'ok', checks: { database: 'up', queue: 'up' } } },
  })
  @ApiErrorResponses(ErrorCode.ServiceUnavailable)
  async readyz(): Promise<{ status: string; checks: Record<string, string> }> {
    try {
      const result = await this.health.check([
        () => this.database.pingCheck('database', { timeout: 2000 }),
        async () => {
          const queue = this.indicators.check('queue');
          try {
            await Promise.race([
              this.operations.pingQueue(),
              rejectAfter(2000, 'no answer within 2 s'),
            ]);
            return queue.up();
          } catch (error) {
            return queue.down({ message: String(error) });
          }
        },
      ]);
      return { status: 'ok', checks: statuses(result.details) };
    } catch (error) {
      const details = (error as { response?: HealthCheckResult }).response?.details ?? {};
      const checks = statuses(details);
      const down = Object.keys(checks).filter((name) => checks[name] === 'down');
      throw new ApiError(
        ErrorCode.ServiceUnavailable,
        `Not ready: ${down.join(' and ') || 'a check'} unreachable`,
        {
          checks,
        },
      );
    }
  }
}

function rejectAfter(ms: number, message: string): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(message)), ms).unref());
}

function statuses(details: HealthCheckResult['details']): Record<string, string> {
  return Object.fromEntries(Object.entries(details).map(([name, result]) => [name, result.status]));
}
