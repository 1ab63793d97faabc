/** A component id as the Collector writes it: `type` or `type/name`. */
export interface ComponentId {
  readonly type: string;
  readonly name: string;
  readonly id: string;
}

const TYPE = /^[a-zA-Z][0-9a-zA-Z_]{0,62}$/;
const NAME = /^[^\s/]{1,1024}$/;

/** Parses an id; returns an error message in the Collector's words on a malformed one. */
export function parseComponentId(id: string): ComponentId | string {
  const slash = id.indexOf('/');
  const type = slash < 0 ? id : id.slice(0, slash);
  const name = slash < 0 ? '' : id.slice(slash + 1);
  if (!TYPE.test(type)) {
    return `invalid type "${type}": must start with a letter and contain only letters, digits and '_'`;
  }
  if (slash >= 0 && !NAME.test(name))
    return `invalid name "${name}": must be non-empty without spaces or '/'`;
  return { type, name, id };
}
