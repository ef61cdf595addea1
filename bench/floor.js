// The floor: a bare NestJS app on the same platform (Express), answering a JSON body of the
// same size as GET /api/v1/deployments/{id}, with no auth, no database, no middleware.
require('reflect-metadata');
const { Controller, Get, Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');

const BODY = JSON.parse(process.env.FLOOR_BODY);

class FloorController {
  get() {
    return BODY;
  }
}
Reflect.decorate([Get(':id')], FloorController.prototype, 'get', Object.getOwnPropertyDescriptor(FloorController.prototype, 'get'));
Controller('floor')(FloorController);

class FloorModule {}
Module({ controllers: [FloorController] })(FloorModule);

NestFactory.create(FloorModule, { logger: false })
  .then((app) => app.listen(Number(process.env.PORT), '127.0.0.1'))
  .catch((error) => {
    console.error(error);
    process.exit(1);
  });
