import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The Prometheus metrics Flightdeck exports at `GET /metrics`. */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  readonly httpDuration = new Histogram({
    name: 'flightdeck_http_request_duration_seconds',
    help: 'HTTP request latency by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly rollouts = new Counter({
    name: 'flightdeck_rollouts_total',
    help: 'Finished rollouts and rollbacks by environment, kind and outcome',
    labelNames: ['environment', 'kind', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly operationDuration = new Histogram({
    name: 'flightdeck_operation_duration_seconds',
    help: 'Time from start to finish of operations, by type and outcome',
    labelNames: ['type', 'outcome'] as const,
    buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
    registers: [this.registry],
  });

  readonly reviews = new Counter({
    name: 'flightdeck_deployment_reviews_total',
    help: 'Recorded deployment reviews by decision',
    labelNames: ['decision'] as const,
    registers: [this.registry],
  });

  readonly approvalWait = new Histogram({
    name: 'flightdeck_deployment_approval_wait_seconds',
    help: 'How long deployments waited for approval, by how the wait ended (approved, rejected, timed_out, cancelled)',
    labelNames: ['outcome'] as const,
    buckets: [10, 60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400, 172800],
    registers: [this.registry],
  });

  /** How the queue depth is read; the operations engine sets it. */
  queueDepth: () => Promise<{ pending: number; running: number }> = () =>
    Promise.resolve({ pending: 0, running: 0 });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'flightdeck_' });
    const read = () => this.queueDepth();
    new Gauge({
      name: 'flightdeck_operations_queued',
      help: 'Operations waiting to run (pending) and running, from the database',
      labelNames: ['status'] as const,
      registers: [this.registry],
      async collect() {
        const depth = await read();
        this.set({ status: 'pending' }, depth.pending);
        this.set({ status: 'running' }, depth.running);
      },
    });
  }
}
