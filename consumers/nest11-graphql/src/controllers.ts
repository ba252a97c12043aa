import { AppController } from './app.controller';

// No Passport in this app; GraphQL is served by the GraphqlModule of app.module.ts.
export const controllers = [AppController];
