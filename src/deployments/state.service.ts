import { Injectable } from '@nestjs/common';
import { environmentsToList, Principal } from '../auth/principal';
import { nowIso } from '../database/columns';
import { FreezesService } from '../freezes/freezes.service';
import { LocksService } from '../locks/locks.service';
import { OperationsService } from '../operations/operations.service';
import { DeploymentsRepository, PairState } from './deployments.repository';
import { StateListResponseDto, StateQueryDto } from './dto/state.dto';
import { PairGuards, toStateRowResponse } from './state.mapper';

/**
 * What runs where (`GET /state`): a page of the state kept per service and environment
 * (`service_environments`, docs/decisions/023), the progress of what is in flight, and each
 * pair's lock and freeze. A fixed few reads per page, whatever the number of deployments.
 */
@Injectable()
export class StateService {
  constructor(
    private readonly deployments: DeploymentsRepository,
    private readonly operations: OperationsService,
    private readonly locks: LocksService,
    private readonly freezes: FreezesService,
  ) {}

  async page(principal: Principal, query: StateQueryDto): Promise<StateListResponseDto> {
    const page = query.page ?? 1;
    const filter = {
      service: query.service,
      environment: environmentsToList(principal, query.environment),
    };
    const { rows, total } = await this.deployments.pageOfState(filter, {
      limit: query.per_page,
      offset: (page - 1) * query.per_page,
    });
    const inFlight = rows.flatMap((row) => (row.inFlight ? [row.inFlight.operationId] : []));
    const progress = await this.operations.progressOf(inFlight);
    const guards = await this.locksAndFreezesOf(rows);
    return {
      state: rows.map((row, i) => toStateRowResponse(row, progress, guards[i])),
      total,
      page,
      per_page: query.per_page,
    };
  }

  /** The lock covering each pair and whether it is frozen, for the whole page at once. */
  private async locksAndFreezesOf(pairs: readonly PairState[]): Promise<PairGuards[]> {
    const now = nowIso();
    const [locks, frozen] = await Promise.all([
      this.locks.coveringEach(pairs, now),
      this.freezes.frozenEach(pairs, now),
    ]);
    return pairs.map((_, i) => ({ lock: locks[i], frozen: frozen[i] }));
  }
}
