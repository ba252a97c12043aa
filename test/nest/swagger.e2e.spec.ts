import type { INestApplication } from '@nestjs/common';
import { Controller, Get, Module, VersioningType } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { randomBytes } from 'node:crypto';
import { ApproovConfigurationError } from 'nestjs-approov';
import { addApproovToDocument } from 'nestjs-approov/swagger';
import { GLOBAL_GUARD_FORMS, globalGuardAppModule, swaggerAppModule } from './apps/swagger-app.js';
import { logCapture } from '../support/log-capture.js';
import { ADAPTERS, startApp, type RunningApp } from '../support/nest-app.js';

// addApproovToDocument with the real @nestjs/swagger: the document it gives is the one
// SwaggerModule.createDocument gives, plus exactly the token requirement, the responses and the
// headers on the operations the guard protects. Each documented operation is also sent a request
// without a token: it is refused with 401 exactly when the document says it is protected.

const SECRET = randomBytes(32).toString('base64');
logCapture.addSecret(SECRET);

type Operation = {
  security?: Array<Record<string, string[]>>;
  responses: Record<string, unknown>;
  parameters?: Array<{ name: string; in: string }>;
};

/** What one protected operation gains. */
interface Gain {
  headers?: Array<[name: string, required: boolean]>;
  signed?: boolean;
}

const header = ([name, required]: [string, boolean]) => ({
  name,
  in: 'header',
  required,
  description: expect.any(String),
  schema: { type: 'string' },
});
const SIGNATURE: Array<[string, boolean]> = [
  ['Signature', true],
  ['Signature-Input', true],
];

function expectedOperation(base: Operation, gain: Gain): unknown {
  const response = { description: expect.any(String) };
  return {
    ...base,
    security: [...(base.security ?? []), { 'Approov-Token': [] }],
    responses: {
      ...base.responses,
      '401': response,
      '503': response,
      ...(gain.signed === true ? { '413': response } : {}),
    },
    parameters: [...(base.parameters ?? []), ...(gain.headers ?? []).map(header)],
  };
}

const operations = (document: OpenAPIObject) =>
  Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item as Record<string, Operation>).map(
      ([method, operation]) => [`${method.toUpperCase()} ${path}`, operation] as const,
    ),
  );

const createDocument = (app: INestApplication) =>
  SwaggerModule.createDocument(app, new DocumentBuilder().setTitle('t').build());

/**
 * The document is the plain one plus exactly each listed gain, every listed operation is in it,
 * and the others are untouched.
 */
function expectDocument(app: INestApplication, tokenHeader: string, gains: Record<string, Gain>) {
  const plain = createDocument(app);
  const document = addApproovToDocument(app, createDocument(app));
  expect(Object.keys(document.paths)).toEqual(Object.keys(plain.paths));
  const found = new Map<string, Operation>(operations(document));
  expect(Object.keys(gains).filter((key) => !found.has(key))).toEqual([]);
  for (const [key, base] of operations(plain)) {
    const gain = gains[key];
    expect([key, found.get(key)]).toEqual([
      key,
      gain === undefined ? base : expectedOperation(base, gain),
    ]);
  }
  expect(document.components?.securitySchemes).toEqual({
    'Approov-Token': {
      type: 'apiKey',
      in: 'header',
      name: tokenHeader,
      description: expect.any(String),
    },
  });
  return document;
}

/** Each operation (but @All's extra methods) without a token: 401 exactly when it gained. */
async function expectRequestsAgree(
  app: RunningApp,
  document: OpenAPIObject,
  gains: Record<string, Gain>,
) {
  const seen: string[] = [];
  for (const [key] of operations(document)) {
    const [method = '', path = ''] = key.split(' ');
    if (!['GET', 'POST', 'PUT'].includes(method)) continue;
    const json = method === 'GET' ? [] : ([['Content-Type', 'application/json']] as const);
    const response = await app.request(
      method,
      path.replace(/\{[^}]+\}/g, 'x'),
      [...json],
      method === 'GET' ? undefined : '{}',
    );
    seen.push(`${key} ${response.status === 401 ? 'refused' : 'served'}`);
  }
  const expected = operations(document)
    .map(([key]) => key)
    .filter((key) => /^(GET|POST|PUT) /.test(key))
    .map((key) => `${key} ${key in gains ? 'refused' : 'served'}`);
  expect(seen).toEqual(expected);
}

describe.each(ADAPTERS)('addApproovToDocument on %s', (_platform, createAdapter) => {
  describe('guards on controllers and handlers', () => {
    let app: RunningApp;
    beforeAll(async () => {
      app = await startApp(swaggerAppModule(SECRET), createAdapter);
    });
    afterAll(() => app?.close());

    const AUTHORIZATION: Array<[string, boolean]> = [['Authorization', true]];
    const GAINS: Record<string, Gain> = {
      'GET /mixed/guarded/{id}': {},
      'POST /mixed/bound': { headers: AUTHORIZATION },
      'POST /mixed/bound-two': {
        headers: [
          ['X-Device-Id', true],
          ['Authorization', true],
        ],
      },
      'GET /mixed/status': {},
      'GET /guarded': {},
      'POST /guarded/signed': { signed: true, headers: [...SIGNATURE, ['Content-Digest', false]] },
      'PUT /guarded/signed-digest': {
        signed: true,
        headers: [...SIGNATURE, ['Content-Digest', true]],
      },
      'POST /guarded/skipped-but-bound': { headers: AUTHORIZATION },
    };
    const withAll = (document: OpenAPIObject): Record<string, Gain> => ({
      ...GAINS,
      ...Object.fromEntries(
        Object.keys(document.paths['/guarded/any'] ?? {}).map((method) => [
          `${method.toUpperCase()} /guarded/any`,
          {},
        ]),
      ),
    });

    it('documents exactly the protected operations, with their headers and responses', () => {
      const plain = createDocument(app.app);
      // @ApiApproov already documents the decorated routes: nothing is added to them.
      expectDocument(app.app, 'Approov-Token', withAll(plain));
      expect(Object.keys(plain.paths['/guarded/any'] ?? {})).toEqual(
        expect.arrayContaining(['get', 'post', 'put', 'delete']),
      );
    });

    it('agrees with the guard: exactly the documented operations refuse a request without a token', async () => {
      const document = createDocument(app.app);
      const gains = withAll(document);
      await expectRequestsAgree(app, document, {
        ...gains,
        'POST /decorated/bound': {},
        'POST /decorated/signed': {},
      });
    });

    it('adds nothing twice where @ApiApproov already documents the route, run once or twice', () => {
      const document = addApproovToDocument(
        app.app,
        addApproovToDocument(app.app, createDocument(app.app)),
      );
      const names = (operation: Operation) => (operation.parameters ?? []).map((p) => p.name);
      const bound = document.paths['/decorated/bound']?.post as Operation;
      const signed = document.paths['/decorated/signed']?.post as Operation;
      expect(bound.security).toEqual([{ 'Approov-Token': [] }]);
      expect(names(bound)).toEqual(['Authorization']);
      expect(Object.keys(bound.responses).sort()).toEqual(['401', '503']);
      expect(signed.security).toEqual([{ 'Approov-Token': [] }]);
      expect(names(signed)).toEqual(['Signature', 'Signature-Input', 'Content-Digest']);
      expect(signed.parameters?.at(-1)).toEqual(header(['Content-Digest', true]));
      expect(Object.keys(signed.responses).sort()).toEqual(['401', '413', '503']);
      const twice = document.paths['/guarded/signed']?.post as Operation;
      expect(names(twice)).toEqual(['Signature', 'Signature-Input', 'Content-Digest']);
      expect(twice.security).toEqual([{ 'Approov-Token': [] }]);
    });
  });

  describe.each(GLOBAL_GUARD_FORMS)(
    'a global guard (%s), a prefix, versions and RouterModule',
    (form) => {
      let app: RunningApp;
      beforeAll(async () => {
        app = await startApp(globalGuardAppModule(SECRET, form), createAdapter, {
          configure: (nest) => {
            nest.setGlobalPrefix('api');
            nest.enableVersioning({ type: VersioningType.URI });
          },
        });
      });
      afterAll(() => app?.close());

      const GAINS: Record<string, Gain> = {
        'GET /api/plain': {},
        'POST /api/plain/bound': { headers: [['X-Session', true]] },
        'GET /api/v2/plain/v': {},
        'POST /api/public/signed': {
          signed: true,
          headers: [...SIGNATURE, ['Content-Digest', false]],
        },
        'GET /api/admin/users/{id}': {},
      };

      it('documents every route the global guard reaches, under its served path', () => {
        const document = expectDocument(app.app, 'X-Approov-Token', GAINS);
        const signed = document.paths['/api/public/signed']?.post as Operation & {
          parameters: Array<{ description: string }>;
        };
        expect(signed.parameters[0]?.description).toContain(
          '@method, @target-uri, x-approov-token',
        );
      });

      it('agrees with the guard: exactly the documented operations refuse a request without a token', async () => {
        await expectRequestsAgree(app, createDocument(app.app), GAINS);
      });
    },
  );
});

describe('addApproovToDocument without ApproovModule', () => {
  @Controller()
  class OpenController {
    @Get()
    open() {}
  }
  @Module({ controllers: [OpenController] })
  class NoApproovModule {}

  it('stops with a message saying what is missing', async () => {
    const app = await NestFactory.create(NoApproovModule, { logger: false, abortOnError: false });
    try {
      await app.init();
      expect(() => addApproovToDocument(app, createDocument(app))).toThrow(
        new ApproovConfigurationError(
          'addApproovToDocument: this app has no ApproovModule (or it loaded another copy of ' +
            'nestjs-approov than nestjs-approov/swagger did). Import ApproovModule.forRoot() in the app.',
        ),
      );
    } finally {
      await app.close();
    }
  });
});
