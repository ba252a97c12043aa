import { randomBytes } from 'node:crypto';
import { ApproovMessageSigning } from 'nestjs-approov';
import { APPROOV_OPTIONS, resolveApproovConfig } from '../../../src/core/approov-config.js';
import { REJECT_LOG_OPTIONS } from '../../../src/core/check/reject-log.js';
import { ApproovConfigurationError } from '../../../src/core/errors.js';
import { KEYSET_OPTIONS } from '../../../src/core/keys/keyset-options.js';
import { MESSAGE_SIGNING_OPTIONS } from '../../../src/core/message-signing/options.js';
import { closestName, editDistance } from '../../../src/core/options/closest-name.js';
import {
  checkOptionGroup,
  type OptionSchema,
  type RefuseOption,
} from '../../../src/core/options/option-schema.js';
import { REPLAY_OPTIONS } from '../../../src/core/replay/replay-options.js';

// Every option group is checked by one schema-driven checker: unknown keys are refused at every
// level (with a "did you mean" for a near miss), and the names and defaults are data.

const SECRET = randomBytes(32).toString('base64');
const JWKS = 'https://keys.example.com/jwks.json';

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}
const boot = (options: Record<string, unknown>) =>
  refusal(() => resolveApproovConfig({ secret: SECRET, ...options }, {}));

describe('an unknown option, at every level', () => {
  it.each<[string, Record<string, unknown>, string]>([
    [
      'the top level',
      { mesageSigning: {} },
      '"mesageSigning" is not an option: did you mean "messageSigning"?',
    ],
    [
      'the top level, a missing unit',
      { clockTolerance: 5 },
      '"clockTolerance" is not an option: did you mean "clockToleranceSec"?',
    ],
    [
      'the top level, another case',
      { TokenHeader: 'X-Token' },
      '"TokenHeader" is not an option: did you mean "tokenHeader"?',
    ],
    [
      'keyset',
      { jwksUri: JWKS, keyset: { ttl: 60 } },
      '"keyset.ttl" is not an option: did you mean "ttlSec"?',
    ],
    [
      'messageSigning',
      { messageSigning: { requireInstalationKey: true } },
      '"messageSigning.requireInstalationKey" is not an option: did you mean "requireInstallationKey"?',
    ],
    [
      'replay',
      { replay: { timeout: 10 } },
      '"replay.timeout" is not an option: did you mean "timeoutMs"?',
    ],
    [
      'rejectLog',
      { rejectLog: { intervalSecs: 5 } },
      '"rejectLog.intervalSecs" is not an option: did you mean "intervalSec"?',
    ],
  ])('is refused with a suggestion at %s', (_level, options, message) => {
    expect(boot(options)).toBe(`Approov option ${message}`);
  });

  it('is refused in a decorator, with a suggestion', () => {
    expect(refusal(() => ApproovMessageSigning({ maxAge: 30 } as never))).toBe(
      '@ApproovMessageSigning(): options.maxAge is not an option: did you mean "maxAgeSec"?',
    );
  });

  it('lists the known options when nothing is close', () => {
    expect(boot({ replay: { backend: 'redis' } })).toBe(
      'Approov option "replay.backend" is not an option (known: store, maxEntries, timeoutMs, failOpen, serverSkewSec).',
    );
  });

  it('is refused before anything else, even a missing secret', () => {
    const message = refusal(() => resolveApproovConfig({ secert: SECRET } as never, {}));
    expect(message).toBe('Approov option "secert" is not an option: did you mean "secret"?');
    expect(message).not.toContain(SECRET);
  });

  it('explains a forRoot flag found among the options (as a forRootAsync factory may return it)', () => {
    for (const extra of ['protectAllRoutes', 'isGlobal']) {
      expect(boot({ [extra]: true })).toBe(
        `Approov option "${extra}" is a forRoot / forRootAsync flag, not an option: give it next to useFactory, not in the options it returns.`,
      );
    }
  });

  it('throws an ApproovConfigurationError', () => {
    expect(() => resolveApproovConfig({ secret: SECRET, mode2: 'x' } as never, {})).toThrow(
      ApproovConfigurationError,
    );
  });

  it('refuses options that are not an object', () => {
    expect(refusal(() => resolveApproovConfig('secret' as never, {}))).toBe(
      'Approov options must be an object.',
    );
  });
});

describe('checkOptionGroup', () => {
  const refuse: RefuseOption = (option, why) => {
    throw new Error(`${option} ${why}`);
  };
  const schema = {
    enabled: { type: 'boolean', default: true },
    limit: { type: 'number', integer: true, min: 1, max: 10, unit: 'bytes', default: 5 },
    ratio: { type: 'number', min: 0, max: 1 },
    colour: { type: 'oneOf', values: ['red', 'green', 'blue'] },
    hook: { type: 'function' },
    list: { type: 'custom' },
  } as const satisfies OptionSchema;
  const check = (value: unknown) => checkOptionGroup(value, schema, 'group', refuse);

  it('gives back what was given, checked, and undefined for the rest (no defaults applied)', () => {
    const list = ['anything'];
    expect(check({ enabled: false, limit: 3, list })).toEqual({
      enabled: false,
      limit: 3,
      ratio: undefined,
      colour: undefined,
      hook: undefined,
      list,
    });
  });

  it('reads undefined as an empty group and null as not given', () => {
    expect(check(undefined)).toEqual({});
    expect(check({ limit: null }).limit).toBeUndefined();
  });

  it.each<[unknown, string]>([
    [[], 'group must be an object.'],
    ['x', 'group must be an object.'],
    [{ enabled: 'yes' }, 'group.enabled must be a boolean.'],
    [{ limit: 1.5 }, 'group.limit must be an integer number of bytes from 1 to 10.'],
    [{ limit: 11 }, 'group.limit must be an integer number of bytes from 1 to 10.'],
    [{ ratio: Number.NaN }, 'group.ratio must be a number from 0 to 1.'],
    [{ ratio: '0.5' }, 'group.ratio must be a number from 0 to 1.'],
    [{ colour: 'RED' }, "group.colour must be one of 'red', 'green' or 'blue'."],
    [{ hook: 'log' }, 'group.hook must be a function.'],
  ])('refuses %p', (value, message) => {
    expect(refusal(() => check(value))).toBe(message);
  });

  it('refuses an inherited-looking key as unknown, never reading the prototype', () => {
    expect(refusal(() => check(JSON.parse('{"__proto__": {"enabled": true}}')))).toContain(
      'group.__proto__ is not an option',
    );
    expect(refusal(() => check({ constructor: 1 }))).toContain(
      'group.constructor is not an option',
    );
  });
});

describe('the schemas are the settings the module runs with', () => {
  const config = resolveApproovConfig({ secret: SECRET, jwksUri: JWKS }, {});

  it('top level defaults', () => {
    expect(config.mode).toBe(APPROOV_OPTIONS.mode.default);
    expect(config.verifier.tokenHeader).toBe(APPROOV_OPTIONS.tokenHeader.default);
    expect(config.verifier.clockToleranceSec).toBe(APPROOV_OPTIONS.clockToleranceSec.default);
    expect(config.verifier.cacheSize).toBe(APPROOV_OPTIONS.cacheSize.default);
    expect(config.verifier.cacheMaxBytes).toBe(APPROOV_OPTIONS.cacheMaxBytes.default);
    expect(config.keysetOptions?.algorithms).toEqual(APPROOV_OPTIONS.algorithms.default);
  });

  it('group defaults', () => {
    const defaults = (schema: OptionSchema) =>
      Object.fromEntries(
        Object.entries(schema).flatMap(([name, spec]) =>
          'default' in spec ? [[name, spec.default]] : [],
        ),
      );
    expect(config.rejectLog).toEqual(defaults(REJECT_LOG_OPTIONS));
    expect(config.replay).toMatchObject(defaults(REPLAY_OPTIONS));
    expect(config.keysetOptions).toMatchObject(defaults(KEYSET_OPTIONS));
    expect(MESSAGE_SIGNING_OPTIONS.maxAgeSec.default).toBe(60);
  });

  it('names every nested group from the top level', () => {
    expect(APPROOV_OPTIONS.keyset.options).toBe(KEYSET_OPTIONS);
    expect(APPROOV_OPTIONS.messageSigning.options).toBe(MESSAGE_SIGNING_OPTIONS);
    expect(APPROOV_OPTIONS.replay.options).toBe(REPLAY_OPTIONS);
    expect(APPROOV_OPTIONS.rejectLog.options).toBe(REJECT_LOG_OPTIONS);
  });
});

describe('closestName', () => {
  const known = Object.keys(APPROOV_OPTIONS);

  it.each([
    ['mesageSigning', 'messageSigning'],
    ['clockTolerance', 'clockToleranceSec'],
    ['bindingHeader', 'bindingHeaders'],
    ['alowApproovStatus', 'allowApproovStatus'],
    ['tokenHedaer', 'tokenHeader'],
    ['SECRET', 'secret'],
  ])('suggests %s -> %s', (name, suggestion) => {
    expect(closestName(name, known)).toBe(suggestion);
  });

  it.each(['database', 'x', 'logger', 'a'.repeat(500)])('suggests nothing for %s', (name) => {
    expect(closestName(name, known)).toBeUndefined();
  });

  it('counts a swap of two neighbouring characters as one edit', () => {
    expect(editDistance('hedaer', 'header')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });
});
