import { Injectable, OnModuleInit } from '@nestjs/common';
import { DriversService } from '../drivers/drivers.service';
import { Gate, GateRequest, GateVerdict } from '../gates/gate';
import { GatesService } from '../gates/gates.service';

/**
 * The approval gate: a rollout to an environment whose policy asks for `approvals` waits for that
 * many reviews (`pending`); it never blocks. Rollbacks skip it.
 */
@Injectable()
export class ApprovalGate implements Gate, OnModuleInit {
  readonly type = 'approval';

  constructor(
    private readonly gates: GatesService,
    private readonly drivers: DriversService,
  ) {}

  onModuleInit(): void {
    this.gates.register(this);
  }

  appliesTo(kind: GateRequest['kind']): boolean {
    return kind === 'rollout';
  }

  check({ environment }: GateRequest): Promise<GateVerdict[]> {
    const { approvals } = this.drivers.policyFor(environment);
    if (!approvals)
      return Promise.resolve([
        { type: this.type, status: 'passed', reason: `${environment} needs no approvals` },
      ]);
    const { required, timeoutMinutes } = approvals;
    return Promise.resolve([
      {
        type: this.type,
        status: 'pending',
        reason: `needs ${required} approval${required === 1 ? '' : 's'}`,
        details: { required, timeout_minutes: timeoutMinutes },
      },
    ]);
  }
}

/** What a `pending` approval verdict asks for: how many approvals, and how long to wait. */
export function approvalsAskedBy(
  verdicts: GateVerdict[],
): { required: number; timeoutMinutes: number } | null {
  const pending = verdicts.find((v) => v.type === 'approval' && v.status === 'pending');
  if (!pending?.details) return null;
  return {
    required: pending.details.required as number,
    timeoutMinutes: pending.details.timeout_minutes as number,
  };
}
