// The floor: a bare NestJS app on the same platform (Express) answering the very requests of the
// benchmark's scenarios (same method, path, headers and body; the `x-floor-scenario` header says
// which) with that scenario's status and body, and no auth, no database, no middleware.
// FLOOR_ADAPTER=flightdeck puts it on Flightdeck's own Express adapter (src/common/express-adapter.ts)
// instead of the one Nest ships, to compare with a floor that has the same HTTP speed-up.
require('reflect-metadata');
const { All, Controller, Headers, Module, Res } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');

const SCENARIOS = JSON.parse(process.env.FLOOR_SCENARIOS).map(({ status, body }) => ({ status, body: JSON.parse(body) }));

class FloorController {
  answer(n, res) {
    const { status, body } = SCENARIOS[Number(n ?? 0)];
    res.status(status);
    return body;
  }
}
Reflect.decorate([All('*path')], FloorController.prototype, 'answer', Object.getOwnPropertyDescriptor(FloorController.prototype, 'answer'));
Headers('x-floor-scenario')(FloorController.prototype, 'answer', 0);
Res({ passthrough: true })(FloorController.prototype, 'answer', 1);
Controller()(FloorController);

class FloorModule {}
Module({ controllers: [FloorController] })(FloorModule);

const adapter = process.env.FLOOR_ADAPTER === 'flightdeck' ? new (require('../dist/common/express-adapter').FlightdeckExpressAdapter)() : undefined;
NestFactory.create(FloorModule, ...(adapter ? [adapter] : []), { logger: false })
  .then((app) => app.listen(Number(process.env.PORT), '127.0.0.1'))
  .catch((error) => {
    console.error(error);
    process.exit(1);
  });
