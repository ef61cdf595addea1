import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequirePermissions } from '../auth/auth.decorators';
import { Permission } from '../auth/permission.enum';
import type { Principal } from '../auth/principal';
import { ApiErrorResponses } from '../common/errors/api-error-responses.decorator';
import { ErrorCode } from '../common/errors/error-code.enum';
import { StateListResponseDto, StateQueryDto } from './dto/state.dto';
import { StateService } from './state.service';

@ApiTags('deployments')
@Controller('api/v1/state')
export class StateController {
  constructor(private readonly state: StateService) {}

  @Get()
  @RequirePermissions(Permission.DeploymentsRead)
  @ApiOperation({
    operationId: 'getState',
    summary: 'What runs where: each service and environment',
    description:
      "One row per service and environment that has any deployment, in the key's environments, " +
      'ordered by service then environment: the current version, the previous one, the deployment ' +
      'in flight with its progress, the lock and whether it is frozen. As fast on a million ' +
      'deployments as on a thousand.',
  })
  @ApiOkResponse({ type: StateListResponseDto })
  @ApiErrorResponses(ErrorCode.ValidationError)
  get(
    @CurrentPrincipal() principal: Principal,
    @Query() query: StateQueryDto,
  ): Promise<StateListResponseDto> {
    return this.state.page(principal, query);
  }
}
