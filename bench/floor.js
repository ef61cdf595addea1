// The floor: a bare NestJS app on the same platform (Express) answering, at /floor/<n>, the body
// of the benchmark's scenario n, with no auth, no database, no middleware.
require('reflect-metadata');
const { Controller, Get, Module, Param } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');

const BODIES = JSON.parse(process.env.FLOOR_BODIES).map((body) => JSON.parse(body));

class FloorController {
  get(n) {
    return BODIES[Number(n)];
  }
}
Reflect.decorate([Get(':n')], FloorController.prototype, 'get', Object.getOwnPropertyDescriptor(FloorController.prototype, 'get'));
Param('n')(FloorController.prototype, 'get', 0);
Controller('floor')(FloorController);

class FloorModule {}
Module({ controllers: [FloorController] })(FloorModule);

NestFactory.create(FloorModule, { logger: false })
  .then((app) => app.listen(Number(process.env.PORT), '127.0.0.1'))
  .catch((error) => {
    console.error(error);
    process.exit(1);
  });
