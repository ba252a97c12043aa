import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { ApproovCheckReport } from 'nestjs-approov';
import { createApproovSecret, createApproovToken } from 'nestjs-approov/testing';
import { logCapture } from '../support/log-capture.js';
import type { AdapterFactory } from '../support/nest-app.js';
import { startGraphQLApp, type GraphQLApp, type GraphQLDriverName } from './apps/graphql-app.js';

// The onCheck hook names the context a check ran in: a resolver's check is `graphql`, not `http`.

const DRIVERS: ReadonlyArray<readonly [GraphQLDriverName, string, AdapterFactory]> = [
  ['Apollo', 'Express', () => new ExpressAdapter()],
  ['Mercurius', 'Fastify', () => new FastifyAdapter()],
];

const secret = createApproovSecret();

describe.each(DRIVERS)('onCheck in GraphQL on %s (%s)', (driver, _platform, createAdapter) => {
  const reports: ApproovCheckReport[] = [];
  let app: GraphQLApp;

  beforeAll(async () => {
    app = await startGraphQLApp(driver, createAdapter, {
      secret,
      onCheck: (report) => reports.push(report),
    });
  });
  afterAll(() => app.close());

  it('reports each resolver check with the graphql context', async () => {
    const token = createApproovToken({ secret, claims: { did: 'device-1' } });
    expect((await app.graphql('{ device }', { 'Approov-Token': token })).body).toEqual({
      data: { device: 'device-1' },
    });
    await app.graphql('{ device }');
    expect(reports.map(({ outcome, code, context }) => ({ outcome, code, context }))).toEqual([
      { outcome: 'pass', code: undefined, context: 'graphql' },
      { outcome: 'reject', code: 'token_missing', context: 'graphql' },
    ]);
  });
});

afterAll(() => logCapture.stop());
