import { Injectable, OnModuleInit } from '@nestjs/common';
import { DriversService } from '../drivers/drivers.service';
import { Gate, GateRequest, GateVerdict } from '../gates/gate';
import { GatesService } from '../gates/gates.service';
import { DeploymentsRepository } from './deployments.repository';

const MINUTE_MS = 60_000;

/**
 * The promotion gate: a rollout of version V of service S to an environment whose policy
 * `requires` others needs, in each of them, a successful deployment of S at V that finished at
 * least `soak_minutes` ago. Rollbacks skip it.
 */
@Injectable()
export class PromotionGate implements Gate, OnModuleInit {
  readonly type = 'promotion';

  constructor(
    private readonly gates: GatesService,
    private readonly drivers: DriversService,
    private readonly deployments: DeploymentsRepository,
  ) {}

  onModuleInit(): void {
    this.gates.register(this);
  }

  appliesTo(kind: GateRequest['kind']): boolean {
    return kind === 'rollout';
  }

  async check({ service, version, environment, at }: GateRequest): Promise<GateVerdict[]> {
    const { requires, soakMinutes } = this.drivers.policyFor(environment);
    const now = Date.parse(at);
    const blocked: GateVerdict[] = [];
    for (const earlier of requires) {
      const block = (reason: string, details: Record<string, unknown> = {}) =>
        blocked.push({
          type: this.type,
          status: 'blocked',
          reason,
          details: { environment: earlier, ...details },
        });
      const first = await this.deployments.findFirstSuccessOf(service, earlier, version);
      if (!first?.finishedAt) {
        block(`${service} ${version} has not succeeded in ${earlier}`);
        continue;
      }
      const soakEnds = Date.parse(first.finishedAt) + soakMinutes * MINUTE_MS;
      if (soakEnds > now) {
        const left = Math.ceil((soakEnds - now) / MINUTE_MS);
        block(
          `${service} ${version} succeeded in ${earlier} at ${first.finishedAt}; its ${soakMinutes}-minute ` +
            `soak there ends at ${new Date(soakEnds).toISOString()} (in ${left} min)`,
          { soak_ends_at: new Date(soakEnds).toISOString() },
        );
      }
    }
    if (blocked.length > 0) return blocked;
    const reason =
      requires.length === 0
        ? `${environment} requires no earlier environment`
        : `${service} ${version} succeeded in ${requires.join(', ')}` +
          (soakMinutes > 0 ? ` at least ${soakMinutes} min ago` : '');
    return [{ type: this.type, status: 'passed', reason }];
  }
}
