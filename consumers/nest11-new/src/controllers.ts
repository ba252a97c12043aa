import { AppController } from './app.controller';

// No Passport in this app: @nestjs/passport, passport and passport-jwt are not installed.
export const controllers = [AppController];
