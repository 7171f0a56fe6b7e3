import { InvalidArgumentError, type Command } from 'commander';

/** Repeatable option collector. */
export const collect = (value: string, previous: string[] = []) => [...previous, value];

/** --label k=v, repeatable. */
export function collectLabel(value: string, previous: string[] = []): string[] {
  if (!/^[^=]+=.*$/.test(value)) throw new InvalidArgumentError('must be key=value');
  return [...previous, value];
}

/** Adds --host and --label to a command that acts on a selection of hosts. */
export function withSelector<C extends Command>(cmd: C): C {
  return cmd
    .option('-H, --host <host>', 'a host id; repeatable (default: every host managing the service)', collect)
    .option('-l, --label <key=value>', 'only hosts with this label; repeatable (AND)', collectLabel);
}

/** The API's selector fields from --host / --label. */
export function selectorBody(o: { host?: string[]; label?: string[] }): { hosts?: string[]; labels?: Record<string, string> } {
  const out: { hosts?: string[]; labels?: Record<string, string> } = {};
  if (o.host && o.host.length > 0) out.hosts = o.host;
  if (o.label && o.label.length > 0) {
    out.labels = Object.fromEntries(o.label.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  }
  return out;
}
