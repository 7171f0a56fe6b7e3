/**
 * A small Containerfile (Dockerfile) reader for the image recipe's tests:
 * instructions with their line numbers, after line continuations and
 * comments, and the exec-form (JSON array) arguments of those that have one.
 * Not a general parser: enough to check the recipe as hadolint would and to
 * run its ENTRYPOINT, CMD and HEALTHCHECK the way a container runtime does.
 */
import { readFileSync } from 'node:fs';

export interface Instruction {
  /** Upper-case keyword: FROM, RUN, ... */
  keyword: string;
  /** Everything after the keyword, continuations joined with a space. */
  args: string;
  /** 1-based line of the keyword. */
  line: number;
}

/** Every instruction a Dockerfile may hold (Dockerfile reference). */
export const KNOWN_INSTRUCTIONS = new Set([
  'ADD',
  'ARG',
  'CMD',
  'COPY',
  'ENTRYPOINT',
  'ENV',
  'EXPOSE',
  'FROM',
  'HEALTHCHECK',
  'LABEL',
  'MAINTAINER',
  'ONBUILD',
  'RUN',
  'SHELL',
  'STOPSIGNAL',
  'USER',
  'VOLUME',
  'WORKDIR',
]);

export function readContainerfile(path: string): Instruction[] {
  return parseContainerfile(readFileSync(path, 'utf8'));
}

export function parseContainerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let current: Instruction | null = null;
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (/^\s*#/.test(line)) return; // comments (and parser directives) never continue an instruction
    if (current === null) {
      if (line.trim() === '') return;
      const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(line);
      if (!m) throw new Error(`line ${i + 1}: not an instruction: ${line}`);
      current = { keyword: m[1]!.toUpperCase(), args: '', line: i + 1 };
      appendPart(current, m[2]!);
    } else {
      appendPart(current, line.trim());
    }
    if (!line.endsWith('\\')) {
      out.push(current);
      current = null;
    }
  });
  if (current) throw new Error('the file ends inside a continued instruction');
  return out;
}

function appendPart(ins: Instruction, part: string): void {
  const text = part.endsWith('\\') ? part.slice(0, -1).trimEnd() : part;
  ins.args = ins.args === '' ? text : text === '' ? ins.args : `${ins.args} ${text}`;
}

/** The JSON-array (exec form) arguments, or null for the shell form. */
export function execForm(args: string): string[] | null {
  if (!args.trimStart().startsWith('[')) return null;
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`not a JSON array of strings: ${args}`);
  return parsed as string[];
}

/** HEALTHCHECK [--opt=value ...] CMD ...: its options and its command (exec form). */
export function healthcheck(args: string): { options: Record<string, string>; command: string[] | null } {
  const options: Record<string, string> = {};
  let rest = args.trim();
  for (let m = /^--([a-z-]+)=(\S+)\s+/.exec(rest); m; m = /^--([a-z-]+)=(\S+)\s+/.exec(rest)) {
    options[m[1]!] = m[2]!;
    rest = rest.slice(m[0].length);
  }
  if (!rest.startsWith('CMD')) return { options, command: null };
  return { options, command: execForm(rest.slice(3).trim()) };
}

/** KEY=VALUE pairs of ENV (and LABEL): values may be double-quoted. */
export function keyValues(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_.-]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    out[m[1]!] = m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!;
  }
  return out;
}
