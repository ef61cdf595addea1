import { Injectable } from '@nestjs/common';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-code.enum';
import { GateDecisionsRepository } from './gate-decisions.repository';
import { Gate, GATE_ORDER, GateRequest, GateType, GateVerdict } from './gate';

/** Gates an override passes: every one that blocks (approval only ever holds). */
const OVERRIDABLE = new Set<GateVerdict['type']>(['lock', 'freeze', 'promotion']);

/**
 * The gate engine. Each gate registers itself from its own module at start-up; the engine asks
 * them in {@link GATE_ORDER}. Deployments call it inside the transaction that creates the
 * deployment, and preflight calls it alone.
 */
@Injectable()
export class GatesService {
  private readonly gates = new Map<GateVerdict['type'], Gate>();

  constructor(private readonly decisions: GateDecisionsRepository) {}

  register(gate: Gate): void {
    if (this.gates.has(gate.type)) throw new Error(`A ${gate.type} gate is already registered`);
    this.gates.set(gate.type, gate);
  }

  /**
   * Every verdict of every gate that applies to the request, in gate order. Inside a transaction,
   * ordered against lock and freeze changes until it ends ({@link GateDecisionsRepository}).
   * With `only`, just those gates (an approved rollout passes the lock and freeze gates again).
   */
  async evaluate(request: GateRequest, only?: readonly GateType[]): Promise<GateVerdict[]> {
    await this.decisions.holdForDecision();
    const verdicts: GateVerdict[] = [];
    for (const type of GATE_ORDER) {
      if (only && !only.includes(type)) continue;
      const gate = this.gates.get(type);
      if (gate?.appliesTo(request.kind)) verdicts.push(...(await gate.check(request)));
    }
    return verdicts;
  }

  /**
   * The verdicts, after refusing the request with `409 deployment_blocked` listing every blocking
   * gate. With `overridden`, the lock, freeze and promotion gates do not block.
   */
  async assertOpen(
    request: GateRequest,
    overridden = false,
    only?: readonly GateType[],
  ): Promise<GateVerdict[]> {
    const verdicts = await this.evaluate(request, only);
    const blocking = blockingVerdicts(verdicts, overridden);
    if (blocking.length > 0) throw blockedError(request, blocking);
    return verdicts;
  }
}

/** The verdicts that stop a request: blocked ones, but for those an override passes. */
export function blockingVerdicts(verdicts: GateVerdict[], overridden: boolean): GateVerdict[] {
  return verdicts.filter((v) => v.status === 'blocked' && !(overridden && OVERRIDABLE.has(v.type)));
}

function blockedError(request: GateRequest, blocking: GateVerdict[]): ApiError {
  const what = `${request.kind === 'rollback' ? 'Rollback' : 'Rollout'} of ${request.service} to ${request.environment}`;
  const why = blocking.map((v) => `${v.type}: ${v.reason}`).join('; ');
  return new ApiError(ErrorCode.DeploymentBlocked, `${what} is blocked (${why})`, {
    gates: blocking.map((v) => ({ type: v.type, reason: v.reason, ...v.details })),
  });
}
