import { Controller, Get, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { ApiApproov, approovSecurityScheme } from 'nestjs-approov/swagger';
import { openApiPath } from '../../src/swagger/add-approov-to-document.js';
import { addApproovToOperation } from '../../src/swagger/approov-openapi.js';

// The parts of nestjs-approov/swagger: route paths as OpenAPI writes them, what an operation keeps
// when it already documents something, and what each ApiApproov() option documents.

describe('openApiPath', () => {
  it.each([
    ['', '/'],
    ['/', '/'],
    ['/shapes/', '/shapes'],
    ['/users/:id', '/users/{id}'],
    ['/files/*path', '/files/{path}'],
    ['/users{/:id}/tabs', '/users/{id}/tabs'],
    ['/time\\:now', '/time:now'],
    ['/ratio/:', '/ratio/:'],
  ])('writes %j as %j', (path, expected) => {
    expect(openApiPath(path)).toBe(expected);
  });
});

describe('addApproovToOperation', () => {
  it('keeps what the operation documents: requirement, same header in other case, response, $ref', () => {
    const operation = {
      security: [{ 'Approov-Token': [] }],
      parameters: [
        { $ref: '#/components/parameters/Trace' },
        { name: 'authorization', in: 'header' as const, description: 'mine' },
        { name: 'Signature', in: 'query' as const },
      ],
      responses: { '401': { description: 'mine' } },
    };
    addApproovToOperation(operation, {
      binding: ['authorization'],
      signing: { requireContentDigest: false, requiredComponents: ['@method'] },
    });
    expect(operation.security).toEqual([{ 'Approov-Token': [] }]);
    expect(operation.parameters.map((p) => ('name' in p ? `${p.in} ${p.name}` : p.$ref))).toEqual([
      '#/components/parameters/Trace',
      'header authorization',
      'query Signature',
      'header Signature',
      'header Signature-Input',
      'header Content-Digest',
    ]);
    expect(operation.responses['401']).toEqual({ description: 'mine' });
    expect(Object.keys(operation.responses).sort()).toEqual(['401', '413', '503']);
  });

  it('starts the lists an operation lacks', () => {
    const operation: Parameters<typeof addApproovToOperation>[0] = {} as never;
    addApproovToOperation(operation, { binding: [] });
    expect(operation).toEqual({
      security: [{ 'Approov-Token': [] }],
      responses: { '401': expect.any(Object), '503': expect.any(Object) },
      parameters: [],
    });
  });
});

describe('ApiApproov()', () => {
  @Controller()
  class DecoratedController {
    @Get('plain')
    @ApiApproov()
    plain() {}

    @Get('unsigned')
    @ApiApproov({ messageSigning: false, binding: ['X-Device-Id'] })
    unsigned() {}

    @Post('signed')
    @ApiApproov({ messageSigning: { requiredComponents: ['@method', 'content-digest'] } })
    signed() {}
  }
  @Module({ controllers: [DecoratedController] })
  class DecoratedModule {}

  it('documents the requirement, the responses and the headers each option asks for', async () => {
    const app = await NestFactory.create(DecoratedModule, { logger: false, abortOnError: false });
    try {
      await app.init();
      const document = SwaggerModule.createDocument(app, new DocumentBuilder().build());
      const view = (path: string, method: 'get' | 'post') => {
        const operation = document.paths[path]![method]!;
        return {
          security: operation.security,
          responses: Object.keys(operation.responses).sort(),
          headers: (operation.parameters ?? []).map((parameter) =>
            'name' in parameter ? `${parameter.name} ${String(parameter.required)}` : '',
          ),
        };
      };
      const security = [{ 'Approov-Token': [] }];
      expect(view('/plain', 'get')).toEqual({ security, responses: ['401', '503'], headers: [] });
      expect(view('/unsigned', 'get')).toEqual({
        security,
        responses: ['401', '503'],
        headers: ['X-Device-Id true'],
      });
      expect(view('/signed', 'post')).toEqual({
        security,
        responses: ['401', '413', '503'],
        headers: ['Signature true', 'Signature-Input true', 'Content-Digest true'],
      });
      const signature = document.paths['/signed']!.post!.parameters![0] as { description: string };
      expect(signature.description).toContain('@method, content-digest');
    } finally {
      await app.close();
    }
  });

  it('has a scheme for DocumentBuilder.addApiKey, default header Approov-Token', () => {
    expect(approovSecurityScheme()).toEqual(
      expect.objectContaining({ type: 'apiKey', in: 'header', name: 'Approov-Token' }),
    );
    expect(approovSecurityScheme('X-Token').name).toBe('X-Token');
  });
});
