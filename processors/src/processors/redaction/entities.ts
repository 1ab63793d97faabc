/**
 * Entity names, how config names select them, and the tokens that replace them.
 *
 * The first eight names are the operator's CRD enum (`spec.redaction.entities`) and must stay valid.
 * `api_key` selects every credential shape, so a CRD that lists only `api_key` still gets bearer
 * tokens, private keys, URL passwords and secret-named keys redacted (fail closed); the finer names
 * can be listed alone to select less.
 */
export const BUILTIN_ENTITIES = [
  'email',
  'phone_number',
  'credit_card',
  'iban',
  'us_ssn',
  'ip_address',
  'api_key',
  'jwt',
  'bearer_token',
  'private_key',
  'url_password',
  'secret',
] as const;

export type BuiltinEntity = (typeof BUILTIN_ENTITIES)[number];

/** What each config name turns on. */
export const ENTITY_SELECTION: Readonly<Record<BuiltinEntity, readonly BuiltinEntity[]>> = {
  email: ['email'],
  phone_number: ['phone_number'],
  credit_card: ['credit_card'],
  iban: ['iban'],
  us_ssn: ['us_ssn'],
  ip_address: ['ip_address'],
  api_key: ['api_key', 'bearer_token', 'private_key', 'url_password', 'secret'],
  jwt: ['jwt'],
  bearer_token: ['bearer_token'],
  private_key: ['private_key'],
  url_password: ['url_password'],
  secret: ['secret'],
};

export function isBuiltinEntity(name: string): name is BuiltinEntity {
  return (BUILTIN_ENTITIES as readonly string[]).includes(name);
}

export type Action = 'mask' | 'hash' | 'drop';

/** Why a whole value was replaced without being scanned (the `reason` label of the fail-closed counter). */
export type FailClosedReason = 'too_large' | 'too_deep' | 'error';

/** `<EMAIL>`: the mask token of an entity. */
export function maskToken(entity: string): string {
  return `<${entity.toUpperCase()}>`;
}

/** `<EMAIL:k1:abcdefghijklmnop>`: a keyed pseudonym; `tag` is written in the letters a–p only. */
export function hashToken(entity: string, keyId: string, tag: string): string {
  return `<${entity.toUpperCase()}:${keyId}:${tag}>`;
}

/** `<REDACTED:TOO_LARGE>`: a value replaced whole because it could not be scanned. */
export function failClosedToken(reason: FailClosedReason): string {
  return `<REDACTED:${reason.toUpperCase()}>`;
}

/**
 * A pattern matching exactly the tokens this processor can write for these entities. Text inside
 * a token is never redacted again, which makes redaction idempotent (a pseudonym's letters can
 * never be taken for an entity, and a second pass leaves the first pass's output alone). Only
 * real token shapes are protected, so a secret written in angle brackets (`<AKIA…>`) is still found.
 */
export function tokenPattern(entities: readonly string[]): RegExp {
  const names = entities.map((e) => e.toUpperCase()).join('|');
  return new RegExp(
    `<(?:${names})(?::[A-Za-z0-9_-]{1,32}:[a-p]{16})?>|<REDACTED:(?:TOO_LARGE|TOO_DEEP|ERROR)>`,
    'g',
  );
}

/** Key ids appear inside tokens, so they use the token's alphabet. */
export const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;
