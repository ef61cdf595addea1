import { Injectable, OnModuleInit } from '@nestjs/common';
import { Gate, GateRequest, GateVerdict } from '../gates/gate';
import { GatesService } from '../gates/gates.service';
import { FreezesService } from './freezes.service';

/**
 * The freeze gate: a rollout of a service to an environment is blocked by every freeze whose
 * window applies to them at that moment. Rollbacks never pass through it: undoing damage must
 * stay possible.
 */
@Injectable()
export class FreezeGate implements Gate, OnModuleInit {
  readonly type = 'freeze';

  constructor(
    private readonly gates: GatesService,
    private readonly freezes: FreezesService,
  ) {}

  onModuleInit(): void {
    this.gates.register(this);
  }

  appliesTo(kind: GateRequest['kind']): boolean {
    return kind === 'rollout';
  }

  async check(request: GateRequest): Promise<GateVerdict[]> {
    const active = await this.freezes.activeFor(request.environment, request.service, request.at);
    if (active.length === 0)
      return [{ type: this.type, status: 'passed', reason: 'No freeze window applies' }];
    return active.map(({ freeze, endsAt }) => ({
      type: this.type,
      status: 'blocked',
      reason: `Freeze '${freeze.name}' applies until ${endsAt ?? 'further notice (its windows run back to back with no end in sight)'}`,
      details: { freeze_id: freeze.id, name: freeze.name, ends_at: endsAt },
    }));
  }
}
