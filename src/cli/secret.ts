// `nestjs-approov secret`: a new random secret for development.
import { createApproovSecret } from '../testing/index.js';
import { EXIT_OK, parseCommandArgs, type Command } from './io.js';

export const secretCommand: Command = {
  name: 'secret',
  help: `Usage: nestjs-approov secret

Prints a new random 64-byte secret in base64, for APPROOV_BASE64_SECRET in development.
A real deployment uses the account secret: approov secret -get base64.`,
  run(args, _env, io) {
    const { values } = parseCommandArgs(args, {});
    io.out(values.help ? this.help : createApproovSecret(64));
    return EXIT_OK;
  },
};
