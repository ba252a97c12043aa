import { closestName } from './closest-name.js';

/** Receives the option's path (`replay.timeoutMs`) and why its value is refused, and throws. */
export type RefuseOption = (option: string, why: string) => never;

/**
 * One option of a group, as data: its type, its accepted range or values, and its default
 * (undefined: none, or one the group computes, such as a value read from the environment).
 */
export type OptionSpec =
  | { readonly type: 'boolean'; readonly default?: boolean }
  | {
      readonly type: 'number';
      readonly min: number;
      readonly max: number;
      /** Only safe integers. */
      readonly integer?: boolean;
      /** What the number counts, for the message: 'seconds', 'milliseconds', 'bytes'. */
      readonly unit?: string;
      /** Said after the range in the message, e.g. what 0 means. */
      readonly hint?: string;
      readonly default?: number;
    }
  | { readonly type: 'oneOf'; readonly values: readonly string[]; readonly default?: string }
  | { readonly type: 'function' }
  /** A nested group, checked by its own code against `options`. */
  | { readonly type: 'group'; readonly options: OptionSchema }
  /** Checked by the group's own code (lists, URLs, keys, stores). */
  | { readonly type: 'custom'; readonly default?: unknown };

/** The options of one group (the module's top level, `replay`, a decorator's), by name. */
export type OptionSchema = Readonly<Record<string, OptionSpec>>;

/** What checkOptionGroup gives back: each option's checked value, undefined when not given. */
export type CheckedOptions<S extends OptionSchema> = {
  readonly [K in keyof S]: S[K] extends { type: 'boolean' }
    ? boolean | undefined
    : S[K] extends { type: 'number' }
      ? number | undefined
      : S[K] extends { type: 'oneOf'; values: readonly (infer V)[] }
        ? V | undefined
        : unknown;
};

/** An option's full path: `replay.timeoutMs`, or the name alone at the top level. */
export const optionPath = (group: string, name: string): string =>
  group === '' ? name : `${group}.${name}`;

/**
 * Checks an options object against its schema: a plain object (undefined reads as empty) with no
 * unknown key (with a "did you mean" hint for a near miss, or `unknownKeyHint`'s word for a
 * key that belongs elsewhere), each boolean, number and one-of option of the right type and
 * range. Custom and group options come back as given, for the group's own checks. Defaults are
 * not applied: a layer (a route's signing rules, say) must tell a default from a given value.
 */
export function checkOptionGroup<S extends OptionSchema>(
  value: unknown,
  schema: S,
  group: string,
  refuse: RefuseOption,
  unknownKeyHint?: (name: string) => string | undefined,
): CheckedOptions<S> {
  if (value === undefined) return {} as CheckedOptions<S>;
  const given = refuseUnknownOptions(value, schema, group, refuse, unknownKeyHint);
  const checked: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(schema)) {
    const option = given[name];
    // Null reads as not given, as `??` reads it: a config source that has no value gives null.
    checked[name] =
      option === undefined || option === null
        ? undefined
        : checkOption(option, spec, optionPath(group, name), refuse);
  }
  return checked as CheckedOptions<S>;
}

/**
 * The options object as a record, once it is a plain object with no key the schema does not
 * name: a near miss gets a "did you mean", a key `unknownKeyHint` knows gets its explanation.
 */
export function refuseUnknownOptions(
  value: unknown,
  schema: OptionSchema,
  group: string,
  refuse: RefuseOption,
  unknownKeyHint?: (name: string) => string | undefined,
): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return refuse(group, 'must be an object.');
  const known = Object.keys(schema);
  for (const name of Object.keys(value)) {
    if (Object.hasOwn(schema, name)) continue;
    const suggestion = closestName(name, known);
    refuse(
      optionPath(group, name),
      unknownKeyHint?.(name) ??
        (suggestion !== undefined
          ? `is not an option: did you mean "${suggestion}"?`
          : `is not an option (known: ${known.join(', ')}).`),
    );
  }
  return value as Record<string, unknown>;
}

/** One option against its spec; custom and group options pass as given. */
export function checkOption(
  value: unknown,
  spec: OptionSpec,
  option: string,
  refuse: RefuseOption,
): unknown {
  switch (spec.type) {
    case 'boolean':
      return typeof value === 'boolean' ? value : refuse(option, 'must be a boolean.');
    case 'function':
      return typeof value === 'function' ? value : refuse(option, 'must be a function.');
    case 'oneOf':
      return typeof value === 'string' && spec.values.includes(value)
        ? value
        : refuse(option, `must be ${oneOfText(spec.values)}.`);
    case 'number':
      return checkNumber(value, spec, option, refuse);
    default:
      return value;
  }
}

function checkNumber(
  value: unknown,
  spec: Extract<OptionSpec, { type: 'number' }>,
  option: string,
  refuse: RefuseOption,
): number {
  const { min, max, integer = false, unit, hint } = spec;
  const valid = integer
    ? Number.isSafeInteger(value)
    : typeof value === 'number' && Number.isFinite(value);
  if (valid && (value as number) >= min && (value as number) <= max) return value as number;
  const what = integer
    ? unit === undefined
      ? 'an integer'
      : `an integer number of ${unit}`
    : unit === undefined
      ? 'a number'
      : `a number of ${unit}`;
  return refuse(
    option,
    `must be ${what} from ${min} to ${max}${hint === undefined ? '' : ` (${hint})`}.`,
  );
}

function oneOfText(values: readonly string[]): string {
  const quoted = values.map((value) => `'${value}'`);
  return quoted.length === 2
    ? `${quoted[0]} or ${quoted[1]}`
    : `one of ${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`;
}
