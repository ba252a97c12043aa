// The OpenAPI recipes of docs/openapi.md are files of a small app: they must type-check
// against src/ and the real @nestjs/swagger, so the names and options they show exist.
import { join } from 'node:path';
import { DOCS_DIR, ROOT, codeBlocks, read } from './markdown.js';
import { filesOf, typeCheck } from './type-check.js';

const APP_DIR = join(ROOT, 'openapi-app');

// main.ts imports the app's module: this one holds the recipe's controller.
const APP_MODULE = `
import { Module } from '@nestjs/common';
import { ApproovModule } from 'nestjs-approov';
import { OrdersController } from './orders.controller.js';

@Module({ imports: [ApproovModule.forRoot({})], controllers: [OrdersController] })
export class AppModule {}
`;

// The inline recipe for decorators only.
const SCHEME = `
import { DocumentBuilder } from '@nestjs/swagger';
import { APPROOV_SECURITY_SCHEME, approovSecurityScheme } from 'nestjs-approov/swagger';

export const config = new DocumentBuilder().addApiKey(approovSecurityScheme(), APPROOV_SECURITY_SCHEME).build();
`;

describe('the OpenAPI recipes of docs/openapi.md', () => {
  const markdown = read(join(DOCS_DIR, 'openapi.md'));
  const files = filesOf(codeBlocks(markdown), APP_DIR);

  it('show main.ts and a controller, each naming its file', () => {
    expect([...files.keys()].map((file) => file.slice(APP_DIR.length + 1)).sort()).toEqual([
      'main.ts',
      'orders.controller.ts',
    ]);
    expect(markdown).toContain(
      '`new DocumentBuilder().addApiKey(approovSecurityScheme(), APPROOV_SECURITY_SCHEME)`',
    );
  });

  it('compile against src/ and @nestjs/swagger', () => {
    const app = new Map(files)
      .set(join(APP_DIR, 'app.module.ts'), APP_MODULE)
      .set(join(APP_DIR, 'scheme.ts'), SCHEME);
    expect(typeCheck(app, APP_DIR)).toEqual([]);
  }, 60_000);
});
