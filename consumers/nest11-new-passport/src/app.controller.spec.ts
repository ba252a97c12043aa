import { Test, TestingModule } from '@nestjs/testing';
import { ApproovModule } from 'nestjs-approov';
import { createApproovSecret } from 'nestjs-approov/testing';
import { AppController } from './app.controller';

// nest new's unit test, with the module imported: any Jest suite that loads the package.
describe('AppController', () => {
  let app: TestingModule;
  let appController: AppController;

  beforeEach(async () => {
    app = await Test.createTestingModule({
      imports: [ApproovModule.forRoot({ secret: createApproovSecret() })],
      controllers: [AppController],
    }).compile();
    await app.init();
    appController = app.get<AppController>(AppController);
  });

  afterEach(() => app.close());

  it('serves /public', () => {
    expect(appController.public()).toEqual({ ok: true });
  });
});
