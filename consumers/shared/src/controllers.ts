import { AppController } from './app.controller';
import { PassportController } from './passport.controller';

// An app without Passport has its own controllers.ts, without PassportController.
export const controllers = [AppController, PassportController];
